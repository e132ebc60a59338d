package io.vmpower.controller.testing;

import io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext;
import io.fabric8.kubernetes.client.server.mock.KubernetesAttributesExtractor;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.mockwebserver.crud.Attribute;
import io.fabric8.mockwebserver.crud.AttributeSet;
import io.fabric8.mockwebserver.crud.CrudDispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import java.lang.reflect.Field;
import java.util.AbstractMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * fabric8's CRUD dispatcher with its store indexed by object name, for the scale benchmark: the
 * stock dispatcher matches every request against every stored object (about 100 ms per request with
 * 30,000 objects), which would measure the mock server instead of the controller.
 *
 * <p>Requests that name an object (get, delete, and the create/update/patch lookups) see only the
 * stored entries with that name; the stock matching then runs on those as before, so the answers
 * are the same. Lists and watches still see everything.
 */
final class IndexedCrudDispatcher extends KubernetesCrudDispatcher {
  private final ThreadLocal<String> name = new ThreadLocal<>();

  IndexedCrudDispatcher(List<CustomResourceDefinitionContext> crds) {
    super(crds);
    try {
      Field map = CrudDispatcher.class.getDeclaredField("map");
      map.setAccessible(true);
      map.set(this, new Store());
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("fabric8's CrudDispatcher changed", e);
    }
  }

  @Override
  public MockResponse handleGet(String path) {
    return byName(getAttributeExtractor().fromPath(path), () -> super.handleGet(path));
  }

  @Override
  public MockResponse handleDelete(String path) {
    return byName(getAttributeExtractor().fromPath(path), () -> super.handleDelete(path));
  }

  @Override
  public Map.Entry<AttributeSet, String> findResource(AttributeSet query) {
    return byName(query, () -> super.findResource(query));
  }

  private <T> T byName(AttributeSet query, Supplier<T> call) {
    String n = nameOf(query);
    if (n == null) {
      return call.get();
    }
    String outer = name.get();
    name.set(n);
    try {
      return call.get();
    } finally {
      name.set(outer);
    }
  }

  private static String nameOf(AttributeSet set) {
    Attribute a = set.getAttribute(KubernetesAttributesExtractor.NAME);
    return a == null || a.getValues().size() != 1 ? null : a.getValues().get(0).toString();
  }

  /** The store, with an index by name; its entry set is narrowed while a named request runs. */
  private final class Store extends LinkedHashMap<AttributeSet, String> {
    private static final long serialVersionUID = 1L;
    private final Map<String, Set<AttributeSet>> byName = new HashMap<>();

    @Override
    public synchronized String put(AttributeSet key, String value) {
      String n = nameOf(key);
      if (n != null) {
        byName.computeIfAbsent(n, k -> new LinkedHashSet<>()).add(key);
      }
      return super.put(key, value);
    }

    @Override
    public synchronized String remove(Object key) {
      String old = super.remove(key);
      if (old != null && key instanceof AttributeSet set) {
        Set<AttributeSet> keys = byName.get(nameOf(set));
        if (keys != null) {
          keys.remove(set);
        }
      }
      return old;
    }

    @Override
    public synchronized String get(Object key) {
      return super.get(key);
    }

    @Override
    public synchronized boolean containsKey(Object key) {
      return super.containsKey(key);
    }

    @Override
    public synchronized int size() {
      return super.size();
    }

    @Override
    public synchronized void clear() {
      super.clear();
      byName.clear();
    }

    @Override
    public synchronized Set<Map.Entry<AttributeSet, String>> entrySet() {
      String n = name.get();
      if (n == null) {
        // A copy: callers iterate it while other threads write.
        return new LinkedHashSet<>(super.entrySet());
      }
      Set<Map.Entry<AttributeSet, String>> entries = new LinkedHashSet<>();
      for (AttributeSet key : byName.getOrDefault(n, Set.of())) {
        entries.add(new AbstractMap.SimpleImmutableEntry<>(key, super.get(key)));
      }
      return entries;
    }
  }
}
