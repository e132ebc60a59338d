#!/usr/bin/env bash
# Builds promql-check (charts/src/test/go/promql-check: Prometheus's own rule-file and PromQL
# checks, from the github.com/prometheus/prometheus Go module) into a cache directory outside the
# repository, once; later calls only print the path of the binary.
#
#   charts/build-promql-check.sh     -> prints the path of promql-check
#
# Environment: VMPOWER_PROMQL_CACHE (target directory), VMPOWER_GO_BUILD_P (go build -p, default 2),
# GOMAXPROCS (default 2). Needs Go >= 1.26 (the module's go.mod says go 1.26.7) and the Go module
# proxy. Build output goes to stderr; stdout is only the path.
set -euo pipefail

readonly PROMETHEUS_VERSION=v0.316.0 # Prometheus 3.16.0

source_dir="$(cd "$(dirname "$0")" && pwd)/src/test/go/promql-check"
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/vmpower"
source_sum=$(sha256sum "$source_dir/main.go" | cut -c1-12)
dir="${VMPOWER_PROMQL_CACHE:-$cache_root/promql-check-$PROMETHEUS_VERSION-$source_sum}"
binary="$dir/promql-check"
stamp="$dir/.complete"

log() { printf '[build-promql-check] %s\n' "$*" >&2; }

if [[ -f "$stamp" && -x "$binary" ]]; then
  printf '%s\n' "$binary"
  exit 0
fi

command -v go >/dev/null || { log "go is not installed (needs Go >= 1.26)"; exit 1; }
mkdir -p "$dir"
# Two test runs starting at once must not build twice into the same place.
exec 9>"$dir/.lock"
flock 9
if [[ -f "$stamp" && -x "$binary" ]]; then
  printf '%s\n' "$binary"
  exit 0
fi

export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
export GOMAXPROCS="${GOMAXPROCS:-2}"
work="$dir/.build"
rm -rf "$work"
mkdir -p "$work"
started=$SECONDS
log "go $(go env GOVERSION); github.com/prometheus/prometheus $PROMETHEUS_VERSION into $dir"
cp "$source_dir/main.go" "$work/"
(
  cd "$work"
  printf 'module vmpower.local/promql-check\n\ngo 1.26.7\n' >go.mod
  go get "github.com/prometheus/prometheus@$PROMETHEUS_VERSION" >&2
  go mod tidy >&2
  go build -p "${VMPOWER_GO_BUILD_P:-2}" -trimpath -ldflags "-s -w" -o "$binary" . >&2
)
printf 'prometheus=%s go=%s seconds=%s\n' "$PROMETHEUS_VERSION" "$(go env GOVERSION)" \
  "$((SECONDS - started))" >"$stamp"
rm -rf "$work"
log "done in $((SECONDS - started)) s"
printf '%s\n' "$binary"
