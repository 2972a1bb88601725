#!/usr/bin/env bash
# Prometheus 3 for the remote write 2.0 end-to-end test (tests/e2e/prometheus-remote-write.test.ts):
# Debian's prometheus is 2.42, which sends only remote write 1.0, and Debian has no newer one.
# Built from the Go module proxy (module version v0.316.0 is Prometheus 3.x) without the
# service discovery plugins, which the test does not use and which are most of the build.
# Installs to /usr/local/lib/lookout/prometheus-3/prometheus (LOOKOUT_PROMETHEUS3_DIR to change).
set -euo pipefail
dest=${LOOKOUT_PROMETHEUS3_DIR:-/usr/local/lib/lookout/prometheus-3}
if [ -x "$dest/prometheus" ]; then
  "$dest/prometheus" --version | head -n 1
  exit 0
fi
command -v go >/dev/null || { echo "install-prometheus-3: go is not installed" >&2; exit 1; }
mkdir -p "$dest"
GOBIN="$dest" GOFLAGS=-mod=mod go install -tags remove_all_sd \
  github.com/prometheus/prometheus/cmd/prometheus@v0.316.0
"$dest/prometheus" --version | head -n 1
