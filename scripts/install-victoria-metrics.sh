#!/usr/bin/env bash
# Installs VictoriaMetrics from Debian (the benchmark peer) and prints its binary path.
# Idempotent: does nothing but print the path when the package is already installed.
set -euo pipefail

if ! command -v victoria-metrics >/dev/null 2>&1; then
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then as_root=(sudo); fi
  if ! apt-cache show victoria-metrics >/dev/null 2>&1; then
    "${as_root[@]}" apt-get update
  fi
  if ! DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y --no-install-recommends victoria-metrics; then
    "${as_root[@]}" apt-get update
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y --no-install-recommends victoria-metrics
  fi
fi

command -v victoria-metrics
