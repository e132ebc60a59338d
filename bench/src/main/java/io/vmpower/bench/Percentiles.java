package io.vmpower.bench;

import java.util.Arrays;

/** Exact percentiles of recorded nanosecond values (every sample kept, then sorted). */
public final class Percentiles {
  private final long[] sorted;

  public Percentiles(long[] values, int count) {
    this.sorted = Arrays.copyOf(values, count);
    Arrays.sort(sorted);
  }

  public int count() {
    return sorted.length;
  }

  /** The smallest value not exceeded by {@code p} percent of the samples (nearest rank). */
  public long at(double p) {
    if (sorted.length == 0) {
      return 0;
    }
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }

  public long max() {
    return sorted.length == 0 ? 0 : sorted[sorted.length - 1];
  }

  public static String ms(long nanos) {
    return String.format("%.2f", nanos / 1e6);
  }

  /** A growable array of samples, one per thread (no sharing while measuring). */
  public static final class Recorder {
    private long[] values = new long[1 << 14];
    private int count;

    public void record(long nanos) {
      if (count == values.length) {
        values = Arrays.copyOf(values, values.length * 2);
      }
      values[count++] = nanos;
    }

    public static Percentiles merge(Iterable<Recorder> recorders) {
      int n = 0;
      for (Recorder r : recorders) {
        n += r.count;
      }
      long[] all = new long[n];
      int at = 0;
      for (Recorder r : recorders) {
        System.arraycopy(r.values, 0, all, at, r.count);
        at += r.count;
      }
      return new Percentiles(all, n);
    }
  }
}
