#!/bin/sh
# The server's fast start, as the image runs it (Dockerfile) and the benchmark measures it (bench):
# extracts the executable jar and creates a class data sharing (CDS) archive with a training run.
#
#   prepare-cds.sh JAR APP_DIR LAYERS_DIR [JVM option...]
#
#   LAYERS_DIR/<layer>/  Spring Boot's layers, for the image's layer-by-layer COPY
#   APP_DIR/             the same files merged (vmpower.jar, lib/), as the image holds them
#   APP_DIR/vmpower.jsa  the archive
#
# and then: java -XX:SharedArchiveFile=APP_DIR/vmpower.jsa -jar APP_DIR/vmpower.jar
#
# The archive only serves the JVM build that created it, with the jar files at the same paths and
# with the same sizes and modification times, and with compressed oops (a heap below 32 GB) both
# times; otherwise the JVM warns "Unable to use shared archive" and starts without it. So APP_DIR
# must be the path the files have at run time and $JAVA (default: java) the runtime's JVM. The JVM
# options go to the training run and the check. The training run needs no cluster and writes only
# to APP_DIR, LAYERS_DIR and a temporary directory (local certificates, Tomcat's work directory).
set -eu

if [ "$#" -lt 3 ]; then
  echo "usage: $0 JAR APP_DIR LAYERS_DIR [JVM option...]" >&2
  exit 2
fi
jar=$1
app=$2
layers=$3
shift 3
java=${JAVA:-java}

for dir in "$app" "$layers"; do
  if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
    echo "$0: $dir is not empty" >&2
    exit 2
  fi
done

"$java" -Djarmode=tools -jar "$jar" extract --layers --destination "$layers"
mkdir -p "$app"
for layer in "$layers"/*/; do
  # -p: the archive records the jar files' modification times
  cp -Rp "$layer". "$app"/
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The whole start, up to a readiness probe answered 200, then exit (vmpower.training-run), so the
# archive holds the web servers' and the management port's classes too. The API server address is
# unreachable on purpose: the run loads the Kubernetes client as an in-cluster start does, finds
# no cluster and goes on with local certificates. Port 0: any free port.
if ! "$java" -XX:ArchiveClassesAtExit="$app/vmpower.jsa" "$@" \
  -Djava.io.tmpdir="$work" \
  -Dkubernetes.master=https://127.0.0.1:1 \
  -Dkubernetes.auth.tryKubeConfig=false \
  -Dkubernetes.auth.tryServiceAccount=false \
  -jar "$app/vmpower.jar" \
  --vmpower.training-run=true \
  --vmpower.cluster.mode=enabled \
  --vmpower.tls.dir="$work/certs" \
  --server.port=0 \
  --management.server.port=0 \
  >"$work/training.log" 2>&1; then
  tail -n 40 "$work/training.log" >&2
  echo "$0: the training run failed" >&2
  exit 1
fi

# -Xshare:on fails when the JVM cannot use the archive, instead of starting without it.
"$java" -Xshare:on -XX:SharedArchiveFile="$app/vmpower.jsa" "$@" -jar "$app/vmpower.jar" help >/dev/null
echo "$app/vmpower.jsa: $(($(wc -c <"$app/vmpower.jsa") / 1048576)) MiB, used by this JVM"
