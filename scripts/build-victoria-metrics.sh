#!/usr/bin/env bash
# Builds a current VictoriaMetrics single-node server from the Go module proxy and prints
# its path: the benchmark peer for the protocols Debian's 1.79 package does not speak
# (OTLP; remote write 2.0 where the release accepts it). Idempotent: prints the path when
# the binary is already built. Needs Go 1.26 (this release's go.mod asks for no newer).
set -euo pipefail

version="${VICTORIA_METRICS_VERSION:-v1.151.0}"
dir="${LOOKOUT_TOOLS_DIR:-/usr/local/lib/lookout}/victoria-metrics-${version}"
if [ ! -x "$dir/victoria-metrics" ]; then
  mkdir -p "$dir"
  GOBIN="$dir" GOFLAGS=-mod=mod go install \
    -ldflags "-X github.com/VictoriaMetrics/VictoriaMetrics/lib/buildinfo.Version=victoria-metrics-${version}" \
    "github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics@${version}" >&2
fi
echo "$dir/victoria-metrics"
