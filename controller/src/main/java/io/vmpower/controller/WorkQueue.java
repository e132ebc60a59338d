package io.vmpower.controller;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A rate-limited work queue of VM keys, after client-go's: a key is queued at most once, is never
 * handed to two workers at the same time (a key added while it is processed is queued again when
 * the worker is done), and failing keys come back with exponential backoff.
 */
final class WorkQueue implements AutoCloseable {
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition available = lock.newCondition();
  private final ArrayDeque<String> queue = new ArrayDeque<>();
  private final Set<String> dirty = new HashSet<>();
  private final Set<String> processing = new HashSet<>();
  private final Map<String, Integer> failures = new HashMap<>();
  private final ScheduledExecutorService delays;
  private final Duration base;
  private final Duration max;
  private boolean shutDown;

  WorkQueue(Duration base, Duration max) {
    this.base = base;
    this.max = max;
    this.delays =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "vmpower-queue-delays");
              t.setDaemon(true);
              return t;
            });
  }

  void add(String key) {
    lock.lock();
    try {
      if (shutDown || !dirty.add(key)) {
        return;
      }
      if (!processing.contains(key)) {
        queue.add(key);
        available.signal();
      }
    } finally {
      lock.unlock();
    }
  }

  void addAfter(String key, Duration delay) {
    if (delay.isZero() || delay.isNegative()) {
      add(key);
      return;
    }
    lock.lock();
    try {
      if (shutDown) {
        return;
      }
      delays.schedule(() -> add(key), delay.toMillis(), TimeUnit.MILLISECONDS);
    } finally {
      lock.unlock();
    }
  }

  /** Queues a failed key again after base * 2^(failures-1), capped at max. */
  Duration addRateLimited(String key) {
    int n;
    lock.lock();
    try {
      n = failures.merge(key, 1, Integer::sum);
    } finally {
      lock.unlock();
    }
    Duration delay = backoff(n);
    addAfter(key, delay);
    return delay;
  }

  Duration backoff(int failureCount) {
    int shift = Math.min(failureCount - 1, 30);
    long millis = base.toMillis() << shift;
    return millis <= 0 || millis > max.toMillis() ? max : Duration.ofMillis(millis);
  }

  /** The key succeeded: its next failure starts the backoff from the beginning. */
  void forget(String key) {
    lock.lock();
    try {
      failures.remove(key);
    } finally {
      lock.unlock();
    }
  }

  /** Blocks until a key is available; empty once the queue is shut down. */
  Optional<String> take() throws InterruptedException {
    lock.lock();
    try {
      while (queue.isEmpty() && !shutDown) {
        available.await();
      }
      if (shutDown) {
        return Optional.empty();
      }
      String key = queue.poll();
      dirty.remove(key);
      processing.add(key);
      return Optional.of(key);
    } finally {
      lock.unlock();
    }
  }

  void done(String key) {
    lock.lock();
    try {
      processing.remove(key);
      if (dirty.contains(key) && !shutDown) {
        queue.add(key);
        available.signal();
      }
    } finally {
      lock.unlock();
    }
  }

  int depth() {
    lock.lock();
    try {
      return queue.size();
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void close() {
    lock.lock();
    try {
      shutDown = true;
      queue.clear();
      dirty.clear();
      available.signalAll();
    } finally {
      lock.unlock();
    }
    delays.shutdownNow();
  }
}
