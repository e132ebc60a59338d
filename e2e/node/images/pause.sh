#!/usr/bin/env bash
# The pod sandbox ("pause") image, with no registry: Kubernetes' own pause.c (from the
# k8s.io/kubernetes module the binaries are built from) compiled statically, as its Dockerfile does.
#
#   pause.sh   -> prints the path of the image archive (docker-archive, for ctr images import)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"

readonly K8S_VERSION=v1.37.2
out="$node_cache/images/pause-$K8S_VERSION.tar"
if [[ ! -s "$out" ]]; then
  mkdir -p "$(dirname "$out")"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  src=$(cd "$work" && GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [[ -f "$src/build/pause/linux/pause.c" ]] || node_die "no pause.c in k8s.io/kubernetes@$K8S_VERSION"
  mkdir "$work/root"
  gcc -Os -static -Wall -DVERSION="$K8S_VERSION" -o "$work/root/pause" "$src/build/pause/linux/pause.c"
  strip "$work/root/pause"
  bash "$here/oci.sh" "$out" "$PAUSE_IMAGE" "$work/root" --config.entrypoint=/pause --config.user=65535:65535
  node_log "pause image: $out"
fi
printf '%s\n' "$out"
