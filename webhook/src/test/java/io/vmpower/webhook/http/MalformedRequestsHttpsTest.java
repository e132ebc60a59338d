package io.vmpower.webhook.http;

import static io.vmpower.admission.testing.Manifests.vm;
import static io.vmpower.admission.testing.Reviews.bytes;
import static io.vmpower.admission.testing.Reviews.parse;
import static io.vmpower.admission.testing.Reviews.podReview;
import static io.vmpower.admission.testing.Reviews.vmReview;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.fge.jsonpatch.JsonPatch;
import io.vmpower.admission.Webhooks;
import io.vmpower.admission.testing.Reviews;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.LoggerFactory;

/**
 * The adversarial input suite for both admission endpoints (RELIABILITY.md): every request that is
 * not an AdmissionReview v1 for the endpoint's kind gets a 4xx with a Kubernetes Status that says
 * what is wrong; every well-formed review with a hostile object gets a 200 with the documented
 * decision (denied with a message, or allowed with a warning, or a patch that applies). Nothing
 * reaches the client or the logs at error level as a stack trace, and the server stays healthy.
 */
class MalformedRequestsHttpsTest extends HttpsApplicationTest {
  static final String VMS = Webhooks.VIRTUAL_MACHINES;
  static final String PODS = Webhooks.PODS;

  /** Log events at WARN and above, with or without a throwable, recorded during a case. */
  static final ConcurrentLinkedQueue<ILoggingEvent> LOGGED = new ConcurrentLinkedQueue<>();

  static final class Recorder extends AppenderBase<ILoggingEvent> {
    @Override
    protected void append(ILoggingEvent event) {
      if (event.getLevel().isGreaterOrEqual(Level.WARN) || event.getThrowableProxy() != null) {
        LOGGED.add(event);
      }
    }
  }

  /** Spring Boot resets Logback when a context starts, so the recorder is (re)attached here. */
  @BeforeEach
  void recordLogs() {
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    if (root.getAppender("adversarial-recorder") == null) {
      Recorder recorder = new Recorder();
      recorder.setName("adversarial-recorder");
      recorder.setContext(root.getLoggerContext());
      recorder.start();
      root.addAppender(recorder);
    }
    LOGGED.clear();
  }

  // --- what a case expects -----------------------------------------------------------------------

  sealed interface Expect {}

  /** A 4xx with a Kubernetes Status whose message contains {@code message}. */
  record Rejected(int status, String message) implements Expect {}

  /**
   * A 200 AdmissionReview that denies with {@code code} and a message containing {@code message}.
   */
  record Denied(int code, String message) implements Expect {}

  /**
   * A 200 AdmissionReview that allows; a warning containing {@code warning} (null: no warning); the
   * patch, if any, applies to the submitted object and the result passes {@code stored}.
   */
  record Allowed(String warning, Consumer<JsonNode> stored) implements Expect {}

  static Rejected rejected(int status, String message) {
    return new Rejected(status, message);
  }

  static Denied denied(int code, String message) {
    return new Denied(code, message);
  }

  static Allowed allowed(String warning, Consumer<JsonNode> stored) {
    return new Allowed(warning, stored);
  }

  static Allowed unchanged(String warning) {
    return new Allowed(warning, null);
  }

  record Case(String name, String path, String contentType, byte[] body, Expect expect) {
    @Override
    public String toString() {
      return (path.equals(VMS) ? "vms: " : "pods: ") + name;
    }
  }

  // --- the requests ------------------------------------------------------------------------------

  static ObjectNode validVm() {
    return vmReview("bad-1", "CREATE", vm("db", "AlwaysOn", ""), null);
  }

  static ObjectNode validPod() {
    ObjectNode pod = PodAdmissionHttpsTest.launcherPod();
    return podReview("bad-p1", pod);
  }

  static ObjectNode request(ObjectNode review) {
    return (ObjectNode) review.get("request");
  }

  static ObjectNode object(ObjectNode review) {
    return (ObjectNode) review.at("/request/object");
  }

  /** {@code text} as UTF-8 with one raw byte inserted after the first {@code after}. */
  static byte[] insertByte(String text, String after, byte b) {
    int at = text.indexOf(after) + after.length();
    byte[] head = utf8(text.substring(0, at));
    byte[] tail = utf8(text.substring(at));
    byte[] out = new byte[head.length + 1 + tail.length];
    System.arraycopy(head, 0, out, 0, head.length);
    out[head.length] = b;
    System.arraycopy(tail, 0, out, head.length + 1, tail.length);
    return out;
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** The cases that apply to any endpoint, built from a valid review for that endpoint. */
  static List<Case> generic(String path, Supplier<ObjectNode> valid, String otherKindGroup) {
    List<Case> cases = new ArrayList<>();
    String kind = path.equals(VMS) ? "kubevirt.io/VirtualMachine" : "Pod";
    class Add {
      void raw(String name, byte[] body, Expect expect) {
        cases.add(new Case(name, path, "application/json", body, expect));
      }

      void edit(String name, Consumer<ObjectNode> edit, Expect expect) {
        ObjectNode review = valid.get();
        edit.accept(review);
        raw(name, bytes(review), expect);
      }
    }
    Add add = new Add();
    String validText = new String(bytes(valid.get()), StandardCharsets.UTF_8);
    add.raw("not JSON", utf8("hello"), rejected(400, "request body is not valid JSON"));
    add.raw("empty body", new byte[0], rejected(400, "request body is empty"));
    add.raw(
        "truncated JSON",
        utf8(validText.substring(0, validText.length() / 2)),
        rejected(400, "request body is not valid JSON"));
    add.raw(
        "unterminated string",
        utf8("{\"apiVersion\":\"admission.k8s.io/v1"),
        rejected(400, "request body is not valid JSON"));
    add.raw("NaN literal", utf8("{\"a\":NaN}"), rejected(400, "request body is not valid JSON"));
    add.raw(
        "invalid UTF-8",
        new byte[] {'{', '"', 'a', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'},
        rejected(400, "request body is not valid UTF-8 (byte 6)"));
    add.raw(
        "invalid UTF-8 in a field name",
        insertByte(validText, "\"kind", (byte) 0xFF),
        rejected(400, "request body is not valid UTF-8"));
    add.raw(
        "a JSON array",
        utf8("[1,2]"),
        rejected(400, "expected a JSON object (an AdmissionReview), got an array"));
    add.raw("JSON null", utf8("null"), rejected(400, "expected a JSON object"));
    add.raw(
        "trailing garbage",
        utf8(validText + " {}"),
        rejected(400, "request body is not valid JSON"));
    add.raw(
        "duplicate keys",
        utf8("{\"apiVersion\":\"admission.k8s.io/v1\",\"apiVersion\":\"x\"}"),
        rejected(400, "Duplicate field 'apiVersion'"));
    add.raw(
        "duplicate keys deep in the object",
        utf8(validText.replaceFirst("\"metadata\":\\{", "\"metadata\":{\"namespace\":\"a\",")),
        rejected(400, "Duplicate field 'namespace'"));
    add.raw(
        "deep nesting",
        utf8("{\"a\":".repeat(1000) + "1" + "}".repeat(1000)),
        rejected(400, "request body exceeds a parser limit"));
    add.raw(
        "deep array nesting",
        utf8("[".repeat(5000) + "]".repeat(5000)),
        rejected(400, "request body exceeds a parser limit"));
    byte[] huge = new byte[8 * 1024 * 1024];
    java.util.Arrays.fill(huge, (byte) ' ');
    add.raw(
        "body over the limit",
        huge,
        rejected(413, "request body is larger than the limit of 7340032 bytes"));
    cases.add(
        new Case(
            "text/plain",
            path,
            "text/plain",
            bytes(valid.get()),
            rejected(415, "Content-Type must be application/json, got text/plain")));
    cases.add(
        new Case(
            "no Content-Type",
            path,
            null,
            bytes(valid.get()),
            rejected(415, "Content-Type must be application/json, got (none)")));
    add.edit(
        "v1beta1 review",
        r -> r.put("apiVersion", "admission.k8s.io/v1beta1"),
        rejected(
            400,
            "expected apiVersion admission.k8s.io/v1 and kind AdmissionReview, got \"admission.k8s.io/v1beta1\""));
    add.edit(
        "wrong kind",
        r -> r.put("kind", "ConfigMap"),
        rejected(400, "kind AdmissionReview, got \"admission.k8s.io/v1\" \"ConfigMap\""));
    add.edit(
        "apiVersion a number",
        r -> r.put("apiVersion", 1),
        rejected(400, "apiVersion must be a string, got a number"));
    add.edit(
        "kind an object",
        r -> r.putObject("kind"),
        rejected(400, "kind must be a string, got an object"));
    add.edit("missing request", r -> r.remove("request"), rejected(400, "request is missing"));
    add.edit("null request", r -> r.putNull("request"), rejected(400, "request is missing"));
    add.edit(
        "request a string",
        r -> r.put("request", "x"),
        rejected(400, "request must be an object, got a string"));
    add.edit(
        "missing uid",
        r -> request(r).remove("uid"),
        rejected(400, "request.uid is missing or empty"));
    add.edit(
        "empty uid",
        r -> request(r).put("uid", ""),
        rejected(400, "request.uid is missing or empty"));
    add.edit(
        "uid a number",
        r -> request(r).put("uid", 7),
        rejected(400, "request.uid must be a string, got a number"));
    add.edit(
        "missing kind",
        r -> request(r).remove("kind"),
        rejected(400, "request.kind must be an object"));
    add.edit(
        "request.kind a string",
        r -> request(r).put("kind", kind),
        rejected(400, "request.kind must be an object"));
    add.edit(
        "request.kind.group a number",
        r -> ((ObjectNode) request(r).get("kind")).put("group", 1),
        rejected(400, "request.kind.group must be a string, got a number"));
    add.edit(
        "request.kind.version a boolean",
        r -> ((ObjectNode) request(r).get("kind")).put("version", true),
        rejected(400, "request.kind.version must be a string, got a boolean"));
    add.edit(
        "request.kind.kind an array",
        r -> ((ObjectNode) request(r).get("kind")).putArray("kind"),
        rejected(400, "request.kind.kind must be a string, got an array"));
    add.edit(
        "request for another kind",
        r -> {
          ObjectNode gvk = (ObjectNode) request(r).get("kind");
          String[] gk = otherKindGroup.split("/");
          gvk.put("group", gk.length > 1 ? gk[0] : "").put("kind", gk[gk.length - 1]);
        },
        rejected(400, "this endpoint reviews " + kind + " objects, got " + otherKindGroup));
    add.edit(
        "object of another kind than the request",
        r -> object(r).put("kind", "ConfigMap"),
        rejected(400, "request.object is "));
    add.edit(
        "object of another API group than the request",
        r -> object(r).put("apiVersion", "example.com/v1"),
        rejected(400, "request.object is example.com/v1"));
    add.edit(
        "object kind a number",
        r -> object(r).put("kind", 3),
        rejected(400, "(a number), but this endpoint reviews " + kind + " objects"));
    add.edit(
        "unknown operation",
        r -> request(r).put("operation", "PATCH"),
        rejected(
            400,
            "request.operation must be one of CREATE, UPDATE, DELETE, CONNECT, got \"PATCH\""));
    add.edit(
        "lower-case operation",
        r -> request(r).put("operation", "create"),
        rejected(400, "got \"create\""));
    add.edit(
        "operation a number",
        r -> request(r).put("operation", 1),
        rejected(400, "request.operation must be a string, got a number"));
    add.edit(
        "missing object on CREATE",
        r -> request(r).remove("object"),
        rejected(400, "request.object is missing for CREATE"));
    add.edit(
        "null object on CREATE",
        r -> request(r).putNull("object"),
        rejected(400, "request.object is missing for CREATE"));
    add.edit(
        "object a string",
        r -> request(r).put("object", "vm"),
        rejected(400, "request.object must be an object, got a string"));
    add.edit(
        "UPDATE without oldObject",
        r -> request(r).put("operation", "UPDATE"),
        rejected(400, "request.oldObject is missing for UPDATE"));
    add.edit(
        "UPDATE with null oldObject",
        r -> request(r).put("operation", "UPDATE").putNull("oldObject"),
        rejected(400, "request.oldObject is missing for UPDATE"));
    add.edit(
        "oldObject an array",
        r -> request(r).put("operation", "UPDATE").putArray("oldObject"),
        rejected(400, "request.oldObject must be an object, got an array"));
    add.edit(
        "oldObject of another kind",
        r -> {
          ObjectNode old = object(r).deepCopy().put("kind", "Secret");
          request(r).put("operation", "UPDATE").set("oldObject", old);
        },
        rejected(400, "request.oldObject is "));
    add.edit(
        "dryRun a string",
        r -> request(r).put("dryRun", "yes"),
        rejected(400, "request.dryRun must be a boolean, got a string"));
    add.edit(
        "namespace a number",
        r -> request(r).put("namespace", 5),
        rejected(400, "request.namespace must be a string, got a number"));
    add.edit(
        "name an array",
        r -> request(r).putArray("name"),
        rejected(400, "request.name must be a string, got an array"));
    add.edit(
        "subResource a boolean",
        r -> request(r).put("subResource", false),
        rejected(400, "request.subResource must be a string, got a boolean"));
    add.edit(
        "DELETE with only oldObject and null object",
        r -> {
          ObjectNode old = object(r).deepCopy();
          request(r).put("operation", "DELETE").putNull("object");
          request(r).set("oldObject", old);
        },
        unchanged(null));
    add.edit(
        "status subresource update",
        r -> {
          request(r).put("operation", "UPDATE").put("subResource", "status");
          request(r).set("oldObject", object(r).deepCopy());
        },
        unchanged(null));
    add.edit(
        "unicode and control characters in uid and names",
        r -> request(r).put("uid", "ü-\u0000-\u2028-😀").put("namespace", "équipe-β"),
        allowed(null, stored -> {}));
    return cases;
  }

  static JsonNode labels(JsonNode object) {
    return object.at("/spec/template/metadata/labels");
  }

  static List<Case> vmCases() {
    List<Case> cases = new ArrayList<>();
    class Add {
      void vm(String name, Consumer<ObjectNode> editVm, Expect expect) {
        ObjectNode review = validVm();
        editVm.accept(object(review));
        cases.add(new Case(name, VMS, "application/json", bytes(review), expect));
      }

      void update(String name, Consumer<ObjectNode> editNew, Expect expect) {
        ObjectNode old =
            io.vmpower.admission.testing.Manifests.vm("db", "AlwaysOn", "runStrategy: Always");
        ObjectNode now = old.deepCopy();
        editNew.accept(now);
        cases.add(
            new Case(
                name,
                VMS,
                "application/json",
                bytes(vmReview("upd-1", "UPDATE", now, old)),
                expect));
      }
    }
    Add add = new Add();
    String policyKey = "vmpower.io/run-policy";
    add.vm(
        "metadata a string",
        vm -> vm.put("metadata", "db"),
        denied(400, "metadata must be an object"));
    add.vm(
        "annotations an array",
        vm -> ((ObjectNode) vm.get("metadata")).putArray("annotations"),
        denied(400, "metadata.annotations must be an object"));
    add.vm(
        "policy a number",
        vm -> vm.withObject("/metadata/annotations").put(policyKey, 1),
        denied(400, "metadata.annotations[vmpower.io/run-policy] must be a string"));
    add.vm(
        "policy an object",
        vm -> vm.withObject("/metadata/annotations").putObject(policyKey),
        denied(400, "must be a string"));
    add.vm(
        "unknown policy",
        vm -> vm.withObject("/metadata/annotations").put(policyKey, "Sometimes"),
        denied(422, "Unsupported value: \"Sometimes\": supported values: \"AlwaysOn\""));
    add.vm(
        "100 KB policy value",
        vm -> vm.withObject("/metadata/annotations").put(policyKey, "x".repeat(100_000)),
        denied(422, "Unsupported value: \"" + "x".repeat(63) + "…\""));
    add.vm(
        "policy with surrounding blanks",
        vm -> vm.withObject("/metadata/annotations").put(policyKey, " AlwaysOn "),
        denied(422, "Unsupported value: \" AlwaysOn \""));
    add.vm("spec a string", vm -> vm.put("spec", "x"), denied(400, "spec must be an object"));
    add.vm(
        "spec.template an array",
        vm -> vm.withObject("/spec").putArray("template"),
        denied(400, "spec.template must be an object, got array"));
    add.vm(
        "spec.template.metadata a number",
        vm -> vm.withObject("/spec/template").put("metadata", 1),
        denied(400, "spec.template.metadata must be an object, got number"));
    add.vm(
        "template labels a string",
        vm -> vm.withObject("/spec/template/metadata").put("labels", "x"),
        denied(400, "spec.template.metadata.labels must be an object, got string"));
    add.vm(
        "null metadata",
        vm -> vm.putNull("metadata"),
        allowed(null, stored -> assertThat(stored.has("spec")).isTrue()));
    add.vm(
        "no spec at all",
        vm -> vm.remove("spec"),
        allowed(
            null,
            stored -> {
              assertThat(stored.at("/spec/runStrategy").asText()).isEqualTo("Always");
              assertThat(labels(stored).path(policyKey).asText()).isEqualTo("AlwaysOn");
            }));
    add.vm(
        "unicode name and labels",
        vm -> {
          vm.withObject("/metadata").put("name", "datenbank-ü-数据库-😀");
          vm.withObject("/spec/template/metadata/labels").put("名前", "値\u2028");
        },
        allowed(
            null,
            stored -> {
              assertThat(stored.at("/metadata/name").asText()).isEqualTo("datenbank-ü-数据库-😀");
              assertThat(labels(stored).path("名前").asText()).isEqualTo("値\u2028");
              assertThat(labels(stored).path(policyKey).asText()).isEqualTo("AlwaysOn");
            }));
    add.vm(
        "label and annotation keys with / and ~",
        vm -> {
          vm.withObject("/metadata/annotations").put("a~b/c~1d", "1").put("~0/~1", "2");
          vm.withObject("/spec/template/metadata/labels").put("x/y~z", "3").put("~", "4");
          vm.withObject("/spec").put("running", true);
        },
        allowed(
            "spec.running removed",
            stored -> {
              assertThat(stored.at("/metadata/annotations").path("a~b/c~1d").asText())
                  .isEqualTo("1");
              assertThat(stored.at("/metadata/annotations").path("~0/~1").asText()).isEqualTo("2");
              assertThat(labels(stored).path("x/y~z").asText()).isEqualTo("3");
              assertThat(labels(stored).path("~").asText()).isEqualTo("4");
              assertThat(labels(stored).path(policyKey).asText()).isEqualTo("AlwaysOn");
              assertThat(stored.at("/spec").has("running")).isFalse();
            }));
    add.vm(
        "a key named like a JSON pointer in the template",
        vm -> vm.withObject("/spec/template/metadata/labels").put("/spec/runStrategy", "x"),
        allowed(
            null,
            stored -> {
              assertThat(labels(stored).path("/spec/runStrategy").asText()).isEqualTo("x");
              assertThat(stored.at("/spec/runStrategy").asText()).isEqualTo("Always");
            }));
    add.vm(
        "deep but legal nesting in the template",
        vm -> {
          ObjectNode node = vm.withObject("/spec/template/spec");
          for (int i = 0; i < 150; i++) {
            node = node.putObject("n");
          }
          node.put("leaf", true);
        },
        allowed(
            null,
            stored ->
                assertThat(
                        stored.at("/spec/template/spec" + "/n".repeat(150) + "/leaf").asBoolean())
                    .isTrue()));
    add.vm(
        "legacy alias",
        vm -> vm.withObject("/metadata/annotations").put(policyKey, "AlwaysOnUntilStoppedManually"),
        allowed(
            "is deprecated, stored as AlwaysOnUnlessStoppedManually",
            stored ->
                assertThat(stored.at("/metadata/annotations").path(policyKey).asText())
                    .isEqualTo("AlwaysOnUnlessStoppedManually")));
    add.update(
        "UPDATE with runStrategy a number",
        vm -> vm.withObject("/spec").put("runStrategy", 5),
        denied(403, "refusing spec.runStrategy: 5"));
    add.update(
        "UPDATE with running a string",
        vm -> vm.withObject("/spec").put("running", "yes"),
        // vmpower never stores spec.running: whatever appears is removed (as a re-applied
        // manifest's)
        allowed(
            "spec.running removed",
            stored -> assertThat(stored.at("/spec").has("running")).isFalse()));
    add.update(
        "UPDATE removing runStrategy",
        vm -> vm.withObject("/spec").remove("runStrategy"),
        allowed(
            null,
            stored -> assertThat(stored.at("/spec/runStrategy").asText()).isEqualTo("Always")));
    add.update(
        "UPDATE with running an object",
        vm -> vm.withObject("/spec").putObject("running"),
        // vmpower never stores spec.running: whatever appears is removed (as a re-applied
        // manifest's)
        allowed(
            "spec.running removed",
            stored -> assertThat(stored.at("/spec").has("running")).isFalse()));
    return cases;
  }

  static ObjectNode compute(ObjectNode pod) {
    return (ObjectNode) pod.at("/spec/containers/0");
  }

  static List<Case> podCases() {
    List<Case> cases = new ArrayList<>();
    class Add {
      void pod(String name, Consumer<ObjectNode> editPod, Expect expect) {
        ObjectNode review = validPod();
        editPod.accept(object(review));
        cases.add(new Case(name, PODS, "application/json", bytes(review), expect));
      }
    }
    Add add = new Add();
    add.pod(
        "compute container twice",
        pod ->
            ((ArrayNode) pod.at("/spec/containers")).add(compute(pod).deepCopy().put("image", "x")),
        unchanged("more than one container named compute"));
    add.pod(
        "compute with an empty command",
        pod -> compute(pod).putArray("command"),
        unchanged("compute container has no command"));
    add.pod(
        "compute with a null command",
        pod -> compute(pod).putNull("command"),
        unchanged("compute container has no command"));
    add.pod(
        "compute command a string",
        pod -> compute(pod).put("command", "/usr/bin/virt-launcher-monitor"),
        unchanged("compute container command or args is not a list of strings"));
    add.pod(
        "compute command with numbers and null",
        pod -> compute(pod).putArray("command").add(1).addNull().add(true),
        unchanged("compute container command or args is not a list of strings"));
    add.pod(
        "compute args a string",
        pod -> compute(pod).put("args", "--name db"),
        unchanged("compute container command or args is not a list of strings"));
    add.pod(
        "compute args with an object",
        pod -> compute(pod).putArray("args").add("--name").addObject(),
        unchanged("compute container command or args is not a list of strings"));
    add.pod(
        "compute with its own postStart hook",
        pod ->
            compute(pod)
                .putObject("lifecycle")
                .putObject("postStart")
                .putObject("exec")
                .putArray("command")
                .add("/bin/true"),
        unchanged("compute container already has a postStart hook"));
    add.pod(
        "compute lifecycle a list",
        pod -> compute(pod).putArray("lifecycle"),
        unchanged("pod spec has an unexpected shape"));
    add.pod(
        "compute a string, no container named compute",
        pod -> ((ArrayNode) pod.at("/spec/containers")).set(0, "compute"),
        unchanged("no container named compute"));
    add.pod(
        "container name a number",
        pod -> compute(pod).put("name", 7),
        unchanged("no container named compute"));
    add.pod(
        "containers an object",
        pod -> pod.withObject("/spec").putObject("containers"),
        unchanged("pod spec has an unexpected shape"));
    add.pod(
        "spec a string",
        pod -> pod.put("spec", "x"),
        unchanged("pod spec has an unexpected shape"));
    add.pod(
        "annotations a string",
        pod -> pod.withObject("/metadata").put("annotations", "x"),
        unchanged("pod spec has an unexpected shape"));
    add.pod(
        "labels an array",
        pod -> pod.withObject("/metadata").putArray("labels"),
        unchanged("not a virt-launcher pod"));
    add.pod(
        "run-policy label a number",
        pod -> pod.withObject("/metadata/labels").put("vmpower.io/run-policy", 1),
        unchanged("not a virt-launcher pod"));
    add.pod(
        "metadata a string", pod -> pod.put("metadata", "x"), unchanged("not a virt-launcher pod"));
    add.pod(
        "already injected",
        pod -> pod.withObject("/metadata/annotations").put("vmpower.io/injection-status", "{}"),
        unchanged("already injected"));
    add.pod(
        "unicode pod name, keys with / and ~, terminationMessagePath with quotes",
        pod -> {
          pod.withObject("/metadata").put("generateName", "virt-launcher-ü-数据库-");
          pod.withObject("/metadata/annotations").put("a~b/c", "1").put("~1", "2");
          pod.withObject("/metadata/labels").put("x/y~z", "3");
          compute(pod).put("terminationMessagePath", "/tmp/it's \"here\" $(id) ü");
        },
        allowed(
            null,
            stored -> {
              assertThat(stored.at("/metadata/annotations").path("a~b/c").asText()).isEqualTo("1");
              assertThat(stored.at("/metadata/annotations").path("~1").asText()).isEqualTo("2");
              assertThat(stored.at("/metadata/labels").path("x/y~z").asText()).isEqualTo("3");
              assertThat(
                      stored.at("/spec/containers/0/lifecycle/postStart/exec/command/2").asText())
                  .contains("VMPOWER_TERMINATION_LOG='/tmp/it'\\''s \"here\" $(id) ü'");
              assertThat(stored.at("/metadata/annotations").has("vmpower.io/injection-status"))
                  .isTrue();
            }));
    add.pod(
        "terminationMessagePath a number",
        pod -> compute(pod).put("terminationMessagePath", 5),
        allowed(
            null,
            stored ->
                // the default path: no VMPOWER_TERMINATION_LOG= before the monitor's bash
                assertThat(
                        stored.at("/spec/containers/0/lifecycle/postStart/exec/command/2").asText())
                    .startsWith(
                        "# vmpower: start the domain monitor next to the launcher"
                            + " (vmpower.io/injection-status)\nVMPOWER_LAUNCHER_PID=1"
                            + " VMPOWER_LOG=/proc/1/fd/2:/var/run/kubevirt-private/"
                            + "vmpower-domain-monitor.log /bin/bash -c ")));
    add.pod(
        "compute command of 100000 elements",
        pod -> {
          ArrayNode command = compute(pod).putArray("command");
          for (int i = 0; i < 100_000; i++) {
            command.add("a" + (i % 10));
          }
        },
        allowed(
            null,
            stored -> {
              assertThat(stored.at("/spec/containers/0/command").size()).isEqualTo(100_000);
              JsonNode hook = stored.at("/spec/containers/0/lifecycle/postStart/exec/command");
              // the hook's four, then the launcher's command and args
              assertThat(hook.size())
                  .isEqualTo(100_004 + stored.at("/spec/containers/0/args").size());
              assertThat(hook.get(4).asText()).isEqualTo("a0");
            }));
    return cases;
  }

  static Stream<Case> cases() {
    List<Case> all = new ArrayList<>();
    all.addAll(generic(VMS, MalformedRequestsHttpsTest::validVm, "Pod"));
    all.addAll(generic(PODS, MalformedRequestsHttpsTest::validPod, "kubevirt.io/VirtualMachine"));
    all.addAll(vmCases());
    all.addAll(podCases());
    return all.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void answeredAsDocumentedWithoutAStackTrace(Case c) throws Exception {
    long t0 = System.nanoTime();
    HttpResponse<String> response =
        client().post(uri("localhost", c.path()), c.contentType(), c.body());
    Duration took = Duration.ofNanos(System.nanoTime() - t0);
    assertThat(took).as("answered in bounded time").isLessThan(Duration.ofSeconds(5));
    assertThat(response.body()).doesNotContain("Exception").doesNotContain("\tat ");
    JsonNode body = parse(response.body());
    if (c.expect() instanceof Rejected r) {
      assertThat(response.statusCode()).as(response.body()).isEqualTo(r.status());
      assertThat(body.path("kind").asText()).isEqualTo("Status");
      assertThat(body.path("apiVersion").asText()).isEqualTo("v1");
      assertThat(body.path("status").asText()).isEqualTo("Failure");
      assertThat(body.path("code").asInt()).isEqualTo(r.status());
      assertThat(body.path("message").asText()).contains(r.message());
    } else if (c.expect() instanceof Denied d) {
      JsonNode answer = reviewAnswer(c, response, body);
      assertThat(answer.path("allowed").asBoolean()).as(response.body()).isFalse();
      assertThat(answer.at("/status/code").asInt()).isEqualTo(d.code());
      assertThat(answer.at("/status/message").asText()).contains(d.message());
      assertThat(answer.has("patch")).isFalse();
    } else if (c.expect() instanceof Allowed a) {
      JsonNode answer = reviewAnswer(c, response, body);
      assertThat(answer.path("allowed").asBoolean()).as(response.body()).isTrue();
      if (a.warning() == null) {
        assertThat(answer.path("warnings")).as(response.body()).isEmpty();
      } else {
        assertThat(answer.path("warnings").toString()).contains(a.warning());
      }
      JsonNode submitted = Reviews.JSON.readTree(c.body()).at("/request/object");
      if (a.stored() == null) {
        assertThat(answer.has("patch")).as("no patch").isFalse();
      } else if (answer.has("patch")) {
        JsonNode patch =
            parse(
                new String(
                    Base64.getDecoder().decode(answer.path("patch").asText()),
                    StandardCharsets.UTF_8));
        a.stored().accept(JsonPatch.fromJson(patch).apply(submitted));
      } else {
        a.stored().accept(submitted);
      }
    }
    List<String> bad =
        LOGGED.stream()
            .filter(
                e -> e.getLevel().isGreaterOrEqual(Level.ERROR) || e.getThrowableProxy() != null)
            .map(e -> e.getLevel() + " " + e.getLoggerName() + ": " + e.getFormattedMessage())
            .toList();
    assertThat(bad).as("errors or stack traces in the logs").isEmpty();
  }

  private static JsonNode reviewAnswer(Case c, HttpResponse<String> response, JsonNode body)
      throws Exception {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    assertThat(body.path("apiVersion").asText()).isEqualTo("admission.k8s.io/v1");
    assertThat(body.path("kind").asText()).isEqualTo("AdmissionReview");
    assertThat(body.at("/response/uid").asText())
        .isEqualTo(Reviews.JSON.readTree(c.body()).at("/request/uid").asText());
    return body.path("response");
  }

  @Test
  void thereAreAtLeastFortyCasesCoveringBothEndpoints() {
    List<Case> all = cases().toList();
    assertThat(all).hasSizeGreaterThanOrEqualTo(40);
    assertThat(all.stream().filter(c -> c.path().equals(PODS)).count()).isGreaterThanOrEqualTo(40);
    assertThat(all.stream().filter(c -> c.path().equals(VMS)).count()).isGreaterThanOrEqualTo(40);
  }

  @Test
  void getIsNotAllowed() throws Exception {
    for (String path : List.of(VMS, PODS)) {
      HttpResponse<String> response = client().get(uri("localhost", path));
      assertThat(response.statusCode()).isEqualTo(405);
      assertThat(response.body()).doesNotContain("Exception");
    }
  }

  @Test
  void unknownPathIs404() throws Exception {
    HttpResponse<String> response = post("/mutate-secrets", "application/json", bytes(validVm()));
    assertThat(response.statusCode()).isEqualTo(404);
    assertThat(response.body()).doesNotContain("Exception");
  }

  @Test
  void plainHttpOnTheAdmissionPortIsNotServed() throws Exception {
    for (String path : List.of(VMS, PODS)) {
      try (Socket socket = new Socket("localhost", port)) {
        socket.setSoTimeout(5000);
        OutputStream out = socket.getOutputStream();
        out.write(
            ("POST "
                    + path
                    + " HTTP/1.1\r\nHost: localhost\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = socket.getInputStream();
        String answer = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        assertThat(answer).doesNotContain("AdmissionReview").doesNotContain("allowed");
        assertThat(answer).startsWith("HTTP/1.1 400").contains("requires TLS");
      }
    }
  }

  @Test
  void serverStaysHealthyAfterAllOfIt() throws Exception {
    for (Case c : cases().toList()) {
      client().post(uri("localhost", c.path()), c.contentType(), c.body());
    }
    var health =
        java.net.http.HttpClient.newHttpClient()
            .send(
                java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(
                            "http://localhost:" + managementPort + "/actuator/health/readiness"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(parse(health.body()).path("status").asText()).isEqualTo("UP");
    assertThat(review(VMS, validVm()).path("allowed").asBoolean()).isTrue();
    assertThat(review(PODS, validPod()).path("patchType").asText()).isEqualTo("JSONPatch");
  }

  @Test
  void livenessIsServed() throws Exception {
    var health =
        java.net.http.HttpClient.newHttpClient()
            .send(
                java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(
                            "http://localhost:" + managementPort + "/actuator/health/liveness"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(health.statusCode()).isEqualTo(200);
  }
}
