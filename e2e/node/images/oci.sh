#!/usr/bin/env bash
# Packs a root filesystem directory as a single-layer image, without a registry or a daemon:
# umoci makes an OCI layout (new image, the directory inserted as one layer, the runtime config
# set), skopeo turns it into a docker-archive that `ctr images import` reads.
#
#   oci.sh OUT.tar NAME:TAG ROOTFS_DIR [umoci config option...]
#
# e.g. oci.sh pause.tar vmpower.local/pause:1 ./root --config.entrypoint=/pause --config.user=65535
set -euo pipefail
out=${1:?usage: oci.sh OUT.tar NAME:TAG ROOTFS_DIR [umoci config option...]}
ref=${2:?}
rootfs=${3:?}
shift 3
[[ -d "$rootfs" ]] || { echo "oci.sh: $rootfs is not a directory" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/vmpower-oci.XXXXXX")
trap 'rm -rf "$work"' EXIT
layout="$work/layout"
tag=${ref##*:}
umoci init --layout "$layout"
umoci new --image "$layout:$tag"
umoci insert --image "$layout:$tag" "$rootfs" /
umoci config --image "$layout:$tag" --os linux --architecture amd64 \
  --author vmpower-node "$@"
rm -f "$out.tmp"
skopeo copy --quiet "oci:$layout:$tag" "docker-archive:$out.tmp:$ref"
mv -f "$out.tmp" "$out"
