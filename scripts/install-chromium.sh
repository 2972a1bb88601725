#!/usr/bin/env bash
# Installs Debian's chromium for the dashboard's browser test and prints its path.
# Idempotent: does nothing but print the path when the package is already installed.
set -euo pipefail

if ! command -v chromium >/dev/null 2>&1; then
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then as_root=(sudo); fi
  if ! DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y --no-install-recommends chromium; then
    "${as_root[@]}" apt-get update
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y --no-install-recommends chromium
  fi
fi

command -v chromium
