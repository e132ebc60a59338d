package io.vmpower.bench;

import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.UncheckedIOException;

/**
 * AdmissionReview bodies shaped like the ones the API server sends: objects after defaulting, with
 * the metadata the API server adds (uid, timestamps, managedFields of a {@code kubectl apply},
 * last-applied-configuration), for a typical VM and launcher pod and for large ones.
 */
public final class ReviewBodies {
  static final JsonMapper JSON = new JsonMapper();
  static final String NS = "team-a";

  private ReviewBodies() {}

  public enum Size {
    /** One root disk, a cloud-init disk, one NIC: a typical VM and its virt-launcher pod. */
    SMALL(1, 4),
    /** 32 disks and volumes, 100 annotations; a pod with 32 container-disk containers. */
    LARGE(32, 100);

    final int disks;
    final int annotations;

    Size(int disks, int annotations) {
      this.disks = disks;
      this.annotations = annotations;
    }
  }

  /**
   * A VM CREATE with a run policy and {@code spec.running}: mutated (patch of 5 operations; 4
   * before issue 15 added the VM's own policy label).
   */
  public static byte[] vmCreate(Size size, String uid) {
    return bytes(review(uid, "kubevirt.io", "VirtualMachine", "CREATE", vm(size, true), null));
  }

  /** A VM UPDATE that keeps the policy and changes memory: allowed without a patch. */
  public static byte[] vmUpdate(Size size, String uid) {
    ObjectNode old = vm(size, false);
    ObjectNode updated = old.deepCopy();
    ((ObjectNode) updated.at("/spec/template/spec/domain/resources/requests")).put("memory", "8Gi");
    ((ObjectNode) updated.get("metadata")).put("generation", 3);
    return bytes(review(uid, "kubevirt.io", "VirtualMachine", "UPDATE", updated, old));
  }

  /** A virt-launcher pod CREATE of a managed VM: the domain monitor is injected. */
  public static byte[] podCreate(Size size, String uid) {
    return bytes(review(uid, "", "Pod", "CREATE", pod(size), null));
  }

  static ObjectNode review(
      String uid,
      String group,
      String kind,
      String operation,
      ObjectNode object,
      ObjectNode oldObject) {
    ObjectNode review = JSON.createObjectNode();
    review.put("kind", "AdmissionReview").put("apiVersion", "admission.k8s.io/v1");
    ObjectNode request = review.putObject("request");
    request.put("uid", uid);
    request.putObject("kind").put("group", group).put("version", "v1").put("kind", kind);
    String resource = kind.equals("Pod") ? "pods" : "virtualmachines";
    request
        .putObject("resource")
        .put("group", group)
        .put("version", "v1")
        .put("resource", resource);
    request.putObject("requestKind").put("group", group).put("version", "v1").put("kind", kind);
    request
        .putObject("requestResource")
        .put("group", group)
        .put("version", "v1")
        .put("resource", resource);
    if (!kind.equals("Pod")) {
      request.put("name", object.at("/metadata/name").asText());
    }
    request.put("namespace", NS).put("operation", operation);
    ObjectNode user = request.putObject("userInfo");
    if (kind.equals("Pod")) {
      user.put("username", "system:serviceaccount:kubevirt:kubevirt-controller")
          .put("uid", "2d0c5b1e-9a07-4d0a-8f6e-1b7e1f7a3c21");
      user.putArray("groups")
          .add("system:serviceaccounts")
          .add("system:serviceaccounts:kubevirt")
          .add("system:authenticated");
    } else {
      user.put("username", "alice@example.com");
      user.putArray("groups").add("team-a-admins").add("system:authenticated");
    }
    request.set("object", object);
    if (oldObject != null) {
      request.set("oldObject", oldObject);
    }
    request.put("dryRun", false);
    request
        .putObject("options")
        .put("kind", operation.equals("CREATE") ? "CreateOptions" : "UpdateOptions")
        .put("apiVersion", "meta.k8s.io/v1")
        .put("fieldManager", kind.equals("Pod") ? "virt-controller" : "kubectl-client-side-apply");
    return review;
  }

  static ObjectNode vm(Size size, boolean withRunning) {
    String name = size == Size.SMALL ? "db" : "big-db";
    ObjectNode vm = JSON.createObjectNode();
    vm.put("apiVersion", "kubevirt.io/v1").put("kind", "VirtualMachine");
    ObjectNode spec = JSON.createObjectNode();
    if (withRunning) {
      spec.put("running", true);
    } else {
      spec.put("runStrategy", "Manual");
    }
    ArrayNode dvTemplates = spec.putArray("dataVolumeTemplates");
    ObjectNode template = spec.putObject("template");
    ObjectNode tmeta = template.putObject("metadata");
    tmeta.putObject("creationTimestamp");
    ObjectNode tlabels = tmeta.putObject("labels");
    tlabels.put("kubevirt.io/domain", name).put("kubevirt.io/size", "large").put("app", "db");
    if (!withRunning) {
      tlabels.put("vmpower.io/run-policy", "Manual");
    }
    ObjectNode tspec = template.putObject("spec");
    tspec.put("architecture", "amd64").put("terminationGracePeriodSeconds", 180);
    ObjectNode domain = tspec.putObject("domain");
    domain.putObject("cpu").put("cores", 4).put("sockets", 1).put("threads", 1);
    domain.putObject("machine").put("type", "q35");
    domain.putObject("firmware").put("uuid", "5d307ca9-b3ef-428c-8861-06e72d69f223");
    domain.putObject("features").putObject("acpi").put("enabled", true);
    domain.putObject("resources").putObject("requests").put("memory", "4Gi");
    ObjectNode devices = domain.putObject("devices");
    ArrayNode disks = devices.putArray("disks");
    ArrayNode volumes = tspec.putArray("volumes");
    for (int i = 0; i < size.disks; i++) {
      String disk = i == 0 ? "rootdisk" : "data-" + i;
      ObjectNode d = disks.addObject();
      d.put("name", disk).putObject("disk").put("bus", "virtio");
      if (i == 0) {
        d.put("bootOrder", 1);
      }
      ObjectNode v = volumes.addObject().put("name", disk);
      if (i % 2 == 0) {
        v.putObject("dataVolume").put("name", name + "-" + disk);
        ObjectNode dv = dvTemplates.addObject();
        ObjectNode dvmeta = dv.putObject("metadata");
        dvmeta.putObject("creationTimestamp");
        dvmeta.put("name", name + "-" + disk);
        ObjectNode dvspec = dv.putObject("spec");
        dvspec
            .putObject("sourceRef")
            .put("kind", "DataSource")
            .put("name", "fedora")
            .put("namespace", "openshift-virtualization-os-images");
        dvspec
            .putObject("storage")
            .put("storageClassName", "ceph-rbd")
            .putObject("resources")
            .putObject("requests")
            .put("storage", "30Gi");
      } else {
        v.putObject("persistentVolumeClaim").put("claimName", name + "-" + disk);
      }
    }
    disks.addObject().put("name", "cloudinitdisk").putObject("disk").put("bus", "virtio");
    volumes
        .addObject()
        .put("name", "cloudinitdisk")
        .putObject("cloudInitNoCloud")
        .put(
            "userData",
            "#cloud-config\nuser: fedora\npassword: changeme\nchpasswd: { expire: False }\n"
                + "ssh_authorized_keys:\n  - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB4u8yq0ZyM0p"
                + "vZ1a8m2Hq3v7Qm9pX6YJtK2mWfB1c2d alice@example.com\n");
    devices.putArray("interfaces").addObject().put("name", "default").putObject("masquerade");
    devices.putObject("rng");
    tspec.putArray("networks").addObject().put("name", "default").putObject("pod");

    ObjectNode metadata = JSON.createObjectNode();
    metadata.put("name", name).put("namespace", NS);
    ObjectNode labels = metadata.putObject("labels");
    labels.put("app", "db").put("team", "a").put("app.kubernetes.io/part-of", "billing");
    if (!withRunning) {
      labels.put("vmpower.io/run-policy", "Manual"); // as the webhook stores it (issue 15)
    }
    ObjectNode annotations = metadata.putObject("annotations");
    annotations.put("vmpower.io/run-policy", "Manual");
    for (int i = 0; i < size.annotations - 2; i++) {
      annotations.put("example.com/annotation-" + i, "value of annotation number " + i);
    }
    ObjectNode applied = JSON.createObjectNode();
    applied.put("apiVersion", "kubevirt.io/v1").put("kind", "VirtualMachine");
    applied.set("metadata", metadata.deepCopy());
    applied.set("spec", spec.deepCopy());
    annotations.put("kubectl.kubernetes.io/last-applied-configuration", applied + "\n");
    metadata
        .put("uid", "0f8a3c5e-6d2b-4e9a-b1c7-3f4d5e6a7b8c")
        .put("resourceVersion", withRunning ? "" : "48123977")
        .put("generation", withRunning ? 1 : 2)
        .put("creationTimestamp", "2026-11-20T09:14:03Z");
    if (withRunning) {
      metadata.remove("resourceVersion");
    }
    ObjectNode mf = metadata.putArray("managedFields").addObject();
    mf.put("manager", "kubectl-client-side-apply")
        .put("operation", "Update")
        .put("apiVersion", "kubevirt.io/v1")
        .put("time", "2026-11-20T09:14:03Z")
        .put("fieldsType", "FieldsV1");
    mf.set("fieldsV1", fieldsV1(spec, metadata));
    vm.set("metadata", metadata);
    vm.set("spec", spec);
    if (!withRunning) {
      ObjectNode status = vm.putObject("status");
      status.put("printableStatus", "Running").put("ready", true).put("created", true);
      status.putArray("conditions").addObject().put("type", "Ready").put("status", "True");
    }
    return vm;
  }

  /** A fieldsV1 tree as the API server writes it for the fields set by the manifest. */
  private static ObjectNode fieldsV1(ObjectNode spec, ObjectNode metadata) {
    ObjectNode f = JSON.createObjectNode();
    ObjectNode fmeta = f.putObject("f:metadata");
    ObjectNode fann = fmeta.putObject("f:annotations");
    fann.putObject(".");
    metadata.path("annotations").fieldNames().forEachRemaining(k -> fann.putObject("f:" + k));
    ObjectNode flabels = fmeta.putObject("f:labels");
    metadata.path("labels").fieldNames().forEachRemaining(k -> flabels.putObject("f:" + k));
    f.set("f:spec", fieldsOf(spec));
    return f;
  }

  private static ObjectNode fieldsOf(ObjectNode node) {
    ObjectNode f = JSON.createObjectNode();
    f.putObject(".");
    node.fields()
        .forEachRemaining(
            e -> {
              if (e.getValue() instanceof ObjectNode child) {
                f.set("f:" + e.getKey(), fieldsOf(child));
              } else {
                f.putObject("f:" + e.getKey());
              }
            });
    return f;
  }

  static ObjectNode pod(Size size) {
    String vm = size == Size.SMALL ? "db" : "big-db";
    String vmiUid = "7f1c2a9e-44b1-4f3e-9d0a-2b8f0f6c1d11";
    ObjectNode pod = JSON.createObjectNode();
    pod.put("kind", "Pod").put("apiVersion", "v1");
    ObjectNode metadata = pod.putObject("metadata");
    metadata
        .put("generateName", "virt-launcher-" + vm + "-")
        .put("namespace", NS)
        .put("creationTimestamp", (String) null);
    metadata
        .putObject("labels")
        .put("kubevirt.io", "virt-launcher")
        .put("kubevirt.io/created-by", vmiUid)
        .put("kubevirt.io/domain", vm)
        .put("kubevirt.io/size", "large")
        .put("vm.kubevirt.io/name", vm)
        .put("app", "db")
        .put("vmpower.io/run-policy", "Manual");
    metadata
        .putObject("annotations")
        .put("kubectl.kubernetes.io/default-container", "compute")
        .put("kubevirt.io/domain", vm)
        .put("kubevirt.io/migrationTransportUnix", "true")
        .put("kubevirt.io/vm-generation", "2")
        .put("descheduler.alpha.kubernetes.io/request-evict-only", "")
        .put(
            "post.hook.backup.velero.io/command",
            "[\"/usr/bin/virt-freezer\", \"--unfreeze\", \"--name\", \""
                + vm
                + "\", \"--namespace\", \"team-a\"]")
        .put("post.hook.backup.velero.io/container", "compute")
        .put(
            "pre.hook.backup.velero.io/command",
            "[\"/usr/bin/virt-freezer\", \"--freeze\", \"--name\", \""
                + vm
                + "\", \"--namespace\", \"team-a\"]")
        .put("pre.hook.backup.velero.io/container", "compute");
    metadata
        .putArray("ownerReferences")
        .addObject()
        .put("apiVersion", "kubevirt.io/v1")
        .put("kind", "VirtualMachineInstance")
        .put("name", vm)
        .put("uid", vmiUid)
        .put("controller", true)
        .put("blockOwnerDeletion", true);
    ObjectNode spec = pod.putObject("spec");
    ArrayNode volumes = spec.putArray("volumes");
    for (String v :
        new String[] {
          "private",
          "public",
          "sockets",
          "virt-bin-share-dir",
          "libvirt-runtime",
          "ephemeral-disks",
          "container-disks",
          "hotplug-disks"
        }) {
      volumes.addObject().put("name", v).putObject("emptyDir");
    }
    ArrayNode initContainers = spec.putArray("initContainers");
    ObjectNode init = initContainers.addObject();
    init.put("name", "container-disk-binary")
        .put("image", "quay.io/kubevirt/virt-launcher:v1.6.2")
        .putArray("command")
        .add("/usr/bin/cp")
        .add("/usr/bin/container-disk")
        .add("/init/usr/bin/container-disk");
    defaults(init);
    init.putArray("volumeMounts")
        .addObject()
        .put("name", "virt-bin-share-dir")
        .put("mountPath", "/init/usr/bin");
    ArrayNode containers = spec.putArray("containers");
    ObjectNode compute = containers.addObject();
    compute.put("name", "compute").put("image", "quay.io/kubevirt/virt-launcher:v1.6.2");
    ArrayNode command = compute.putArray("command");
    for (String c :
        new String[] {
          "/usr/bin/virt-launcher-monitor",
          "--qemu-timeout",
          "321s",
          "--name",
          vm,
          "--uid",
          vmiUid,
          "--namespace",
          NS,
          "--kubevirt-share-dir",
          "/var/run/kubevirt",
          "--ephemeral-disk-dir",
          "/var/run/kubevirt-ephemeral-disks",
          "--container-disk-dir",
          "/var/run/kubevirt/container-disks",
          "--grace-period-seconds",
          "195",
          "--hook-sidecars",
          "0",
          "--ovmf-path",
          "/usr/share/OVMF",
          "--run-as-nonroot"
        }) {
      command.add(c);
    }
    ArrayNode env = compute.putArray("env");
    env.addObject().put("name", "XDG_CACHE_HOME").put("value", "/var/run/kubevirt-private");
    env.addObject().put("name", "XDG_CONFIG_HOME").put("value", "/var/run/kubevirt-private");
    env.addObject().put("name", "XDG_RUNTIME_DIR").put("value", "/var/run");
    env.addObject()
        .put("name", "POD_NAME")
        .putObject("valueFrom")
        .putObject("fieldRef")
        .put("apiVersion", "v1")
        .put("fieldPath", "metadata.name");
    ObjectNode resources = compute.putObject("resources");
    resources
        .putObject("limits")
        .put("devices.kubevirt.io/kvm", "1")
        .put("devices.kubevirt.io/tun", "1")
        .put("devices.kubevirt.io/vhost-net", "1");
    resources
        .putObject("requests")
        .put("cpu", "400m")
        .put("devices.kubevirt.io/kvm", "1")
        .put("devices.kubevirt.io/tun", "1")
        .put("devices.kubevirt.io/vhost-net", "1")
        .put("ephemeral-storage", "50M")
        .put("memory", "4477Mi");
    ObjectNode sc = compute.putObject("securityContext");
    sc.put("allowPrivilegeEscalation", false).put("privileged", false).put("runAsUser", 107);
    sc.put("runAsGroup", 107).put("runAsNonRoot", true);
    ObjectNode capabilities = sc.putObject("capabilities");
    capabilities.putArray("drop").add("ALL");
    capabilities.putArray("add").add("NET_BIND_SERVICE");
    ArrayNode mounts = compute.putArray("volumeMounts");
    for (String v :
        new String[] {
          "private", "public", "sockets", "libvirt-runtime", "ephemeral-disks", "container-disks"
        }) {
      mounts.addObject().put("name", v).put("mountPath", "/var/run/kubevirt-" + v);
    }
    mounts
        .addObject()
        .put("name", "hotplug-disks")
        .put("mountPath", "/var/run/kubevirt/hotplug-disks")
        .put("mountPropagation", "HostToContainer");
    defaults(compute);
    ObjectNode console = containers.addObject();
    console.put("name", "guest-console-log").put("image", "quay.io/kubevirt/virt-launcher:v1.6.2");
    console.putArray("command").add("/usr/bin/virt-tail");
    console
        .putArray("args")
        .add("--logfile")
        .add("/var/run/kubevirt-private/" + vmiUid + "/virt-serial0-log");
    console.putObject("resources").putObject("limits").put("cpu", "15m").put("memory", "60M");
    console.putArray("volumeMounts").addObject().put("name", "private").put("mountPath", "/p");
    defaults(console);
    for (int i = 0; i < size.disks; i++) {
      String disk = i == 0 ? "rootdisk" : "data-" + i;
      ObjectNode c = containers.addObject();
      c.put("name", "volume" + disk).put("image", "quay.io/containerdisks/fedora:41");
      c.putArray("command").add("/var/run/kubevirt-ephemeral-disks/container-disk-data/bin");
      c.putArray("args")
          .add("--copy-path")
          .add("/var/run/kubevirt-ephemeral-disks/container-disk-data/" + vmiUid + "/disk_" + i);
      c.putObject("resources")
          .putObject("limits")
          .put("cpu", "10m")
          .put("memory", "40M")
          .put("ephemeral-storage", "50M");
      ArrayNode m = c.putArray("volumeMounts");
      m.addObject()
          .put("name", "container-disks")
          .put("mountPath", "/var/run/kubevirt-ephemeral-disks/container-disk-data/" + vmiUid)
          .put("mountPropagation", "HostToContainer");
      m.addObject().put("name", "virt-bin-share-dir").put("mountPath", "/init/usr/bin");
      defaults(c);
      if (i > 0) {
        volumes
            .addObject()
            .put("name", disk)
            .putObject("persistentVolumeClaim")
            .put("claimName", vm + "-" + disk);
      }
    }
    spec.put("restartPolicy", "Never")
        .put("terminationGracePeriodSeconds", 210)
        .put("dnsPolicy", "ClusterFirst")
        .put("automountServiceAccountToken", false)
        .put("serviceAccountName", "default")
        .put("hostname", vm)
        .put("schedulerName", "default-scheduler")
        .put("enableServiceLinks", false)
        .put("priority", 0)
        .put("preemptionPolicy", "PreemptLowerPriority");
    spec.putObject("nodeSelector")
        .put("kubevirt.io/schedulable", "true")
        .put("cpu-model.node.kubevirt.io/Skylake-Server-noTSX-IBRS", "true");
    spec.putObject("securityContext")
        .put("runAsUser", 107)
        .put("runAsGroup", 107)
        .put("fsGroup", 107)
        .put("runAsNonRoot", true)
        .putObject("seccompProfile")
        .put("type", "Localhost")
        .put("localhostProfile", "kubevirt/kubevirt.json");
    spec.putArray("readinessGates").addObject().put("conditionType", "kubevirt.io/unpaused");
    ArrayNode tolerations = spec.putArray("tolerations");
    for (String t : new String[] {"not-ready", "unreachable"}) {
      tolerations
          .addObject()
          .put("key", "node.kubernetes.io/" + t)
          .put("operator", "Exists")
          .put("effect", "NoExecute")
          .put("tolerationSeconds", 300);
    }
    pod.putObject("status");
    return pod;
  }

  /** Fields the API server's defaulting adds to every container before admission. */
  private static void defaults(ObjectNode container) {
    container
        .put("terminationMessagePath", "/dev/termination-log")
        .put("terminationMessagePolicy", "File")
        .put("imagePullPolicy", "IfNotPresent");
  }

  static byte[] bytes(ObjectNode node) {
    try {
      return JSON.writeValueAsBytes(node);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }
}
