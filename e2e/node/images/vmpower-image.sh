#!/usr/bin/env bash
# vmpower's image without Docker: the Dockerfile's stages done with the same parts.
#
#   vmpower-image.sh JAR   -> prints the image archive's path (vmpower.local/vmpower:<version>)
#
# build   the jar is the reactor's webhook/target/vmpower.jar (the Dockerfile runs the same
#         `./mvnw -pl webhook -am package`; `./mvnw verify` has built it before this runs)
# cds     the runtime root filesystem (Debian 12 with OpenJDK 17, as the distroless java17-debian12
#         image), the jar at /build, and webhook/src/main/docker/prepare-cds.sh run in it exactly
#         as the Dockerfile's RUN does: layers extracted, merged into /app, the training run
#         writes /app/vmpower.jsa
# final   the runtime root filesystem plus /app (modification times kept: the archive checks
#         them), checked with the Dockerfile's own `java -Xshare:on ... help`; WORKDIR, USER,
#         EXPOSE, ENV and ENTRYPOINT are read from the Dockerfile's final stage, so the image
#         runs as the Dockerfile says (the node suite compares the two).
# The one difference: the runtime here is a debootstrapped Debian 12 with Debian's
# openjdk-17-jre-headless, which has a shell; distroless has none.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"
node_need_root

jar=$(realpath "${1:?usage: vmpower-image.sh JAR}")
[[ -f "$jar" ]] || node_die "$jar not found (build it: ./mvnw -pl webhook -am package)"
repo=$(cd "$here/../../.." && pwd)
dockerfile="$repo/Dockerfile"
prepare_cds="$repo/webhook/src/main/docker/prepare-cds.sh"
version=$(sed -n 's/^version: *//p' "$repo/charts/vmpower/Chart.yaml" | head -n1)
appversion=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$repo/charts/vmpower/Chart.yaml" | head -n1)
ref="$IMAGE_REGISTRY/vmpower:${appversion:-$version}"
out="$node_cache/images/vmpower.tar"

runtime=$(VMPOWER_ROOTFS_SUITE=bookworm bash "$here/rootfs.sh" vmpower-runtime openjdk-17-jre-headless)
if [[ -s "$out" && "$out" -nt "$jar" && "$out" -nt "$dockerfile" && "$out" -nt "$prepare_cds" \
  && "$out" -nt "$runtime" && "$out" -nt "$0" ]]; then
  printf '%s\n' "$out"
  exit 0
fi

# The Dockerfile's final stage: instructions after the last FROM, continuation lines joined.
final_stage=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$dockerfile" | grep -v '^[[:space:]]*#' \
  | awk '/^FROM /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}')
instruction() { sed -n "s/^$1 //p" <<<"$final_stage" | tail -n1; }
json_array() { # ["a", "b"] -> one element per line (elements without quotes or commas inside)
  sed -e 's/^\[//' -e 's/\]$//' <<<"$1" | sed 's/", *"/"\n"/g' | sed -e 's/^ *"//' -e 's/" *$//'
}
workdir=$(instruction WORKDIR)
user=$(instruction USER)
expose=$(instruction EXPOSE)
env_line=$(instruction ENV)
entrypoint=$(instruction ENTRYPOINT)
[[ -n "$workdir" && -n "$user" && -n "$entrypoint" && "$env_line" == *=* ]] \
  || node_die "cannot read WORKDIR/USER/ENV/ENTRYPOINT from the final stage of $dockerfile"
env_name=${env_line%%=*}
env_value=${env_line#*=}
env_value=${env_value#\"}
env_value=${env_value%\"}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
in_root() { # ROOT COMMAND...: chroot with /proc and /dev, mounts ending with the command
  local root=$1
  shift
  # shellcheck disable=SC2016  # expanded by the inner bash
  unshare --mount --propagation private -- bash -euo pipefail -c '
    root=$1; shift
    mount -t proc proc "$root/proc"
    mount --bind /dev "$root/dev"
    exec chroot "$root" "$@"' in_root "$root" "$@"
}

# --- cds stage
started=$SECONDS
mkdir -p "$work/cds"
tar --numeric-owner -C "$work/cds" -xf "$runtime"
mkdir -p "$work/cds/build"
cp "$jar" "$work/cds/build/vmpower.jar"
cp "$prepare_cds" "$work/cds/build/prepare-cds.sh"
in_root "$work/cds" /bin/sh /build/prepare-cds.sh /build/vmpower.jar /app /layers -Xmx256m >&2

# --- final stage
mkdir -p "$work/final"
tar --numeric-owner -C "$work/final" -xf "$runtime"
rm -f "$work/final/usr/sbin/policy-rc.d" "$work/final/.vmpower-packages"
mkdir -p "$work/final$workdir"
for layer in dependencies spring-boot-loader snapshot-dependencies application; do
  [[ -d "$work/cds/layers/$layer" ]] && cp -Rp "$work/cds/layers/$layer/." "$work/final/app/"
done
cp -p "$work/cds/app/vmpower.jsa" "$work/final/app/"
chown -R 0:0 "$work/final/app"
in_root "$work/final" java -Xshare:on -XX:SharedArchiveFile=/app/vmpower.jsa -XX:-UsePerfData \
  -jar /app/vmpower.jar help >/dev/null

config=(--config.workingdir="$workdir" --config.user="$user" --config.env="$env_name=$env_value"
  --config.env="PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
for port in $expose; do config+=(--config.exposedports="$port/tcp"); done
while IFS= read -r arg; do config+=(--config.entrypoint="$arg"); done < <(json_array "$entrypoint")
mkdir -p "$(dirname "$out")"
bash "$here/oci.sh" "$out" "$ref" "$work/final" "${config[@]}"
node_log "image $ref in $((SECONDS - started)) s"
printf '%s\n' "$out"
