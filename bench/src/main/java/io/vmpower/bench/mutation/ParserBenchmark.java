package io.vmpower.bench.mutation;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.vmpower.bench.ReviewBodies;
import io.vmpower.bench.ReviewBodies.Size;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * What reading a review costs with the ways Jackson offers, all with duplicate-key detection as the
 * webhook requires: the floor below which no tree-based reader gets (BENCHMARKS.md, "why the 90 %
 * target is missed").
 *
 * <ul>
 *   <li>{@code CHAR_TREE}: the webhook's reader (field-name canonicalization off, so Jackson uses
 *       its char-based parser; RELIABILITY.md finding 4);
 *   <li>{@code BYTE_TREE_SHARED_NAMES}: the byte parser with one name table shared by all requests
 *       (what finding 4 ruled out);
 *   <li>{@code BYTE_TREE_NAMES_PER_REVIEW}: the byte parser with a fresh name table per review;
 *   <li>{@code TOKENS_ONLY}: every token read and dropped, no tree (what a streaming reader that
 *       skips what it does not need still pays).
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class ParserBenchmark {
  public enum Review {
    VM_UPDATE,
    POD_CREATE
  }

  public enum Parser {
    CHAR_TREE,
    BYTE_TREE_SHARED_NAMES,
    BYTE_TREE_NAMES_PER_REVIEW,
    TOKENS_ONLY
  }

  @Param({"VM_UPDATE", "POD_CREATE"})
  public Review review;

  @Param({"CHAR_TREE", "BYTE_TREE_SHARED_NAMES", "BYTE_TREE_NAMES_PER_REVIEW", "TOKENS_ONLY"})
  public Parser parser;

  private byte[] body;
  private JsonMapper charTree;
  private JsonMapper byteTree;

  @Setup
  public void setUp() {
    body =
        review == Review.VM_UPDATE
            ? ReviewBodies.vmUpdate(Size.SMALL, "u")
            : ReviewBodies.podCreate(Size.SMALL, "u");
    charTree =
        JsonMapper.builder(
                JsonFactory.builder()
                    .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
                    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                    .build())
            .build();
    byteTree = JsonMapper.builder(namesChecked()).build();
  }

  private static JsonFactory namesChecked() {
    return JsonFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
  }

  @Benchmark
  public Object read() throws IOException {
    return switch (parser) {
      case CHAR_TREE -> charTree.readTree(body);
      case BYTE_TREE_SHARED_NAMES -> byteTree.readTree(body);
      case BYTE_TREE_NAMES_PER_REVIEW -> {
        try (JsonParser p = namesChecked().createParser(body)) {
          JsonNode tree = byteTree.readTree(p);
          yield tree;
        }
      }
      case TOKENS_ONLY -> {
        try (JsonParser p = byteTree.getFactory().createParser(body)) {
          int tokens = 0;
          for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
            tokens++;
          }
          yield tokens;
        }
      }
    };
  }
}
