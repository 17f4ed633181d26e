#!/usr/bin/env bash
# Installs what the test suite needs beyond Rust: redis-server (shoal-redis tests start their own).
set -euo pipefail
if ! command -v redis-server >/dev/null 2>&1; then
  echo "setup: redis-server not found; installing Debian's redis-server package" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi
redis-server --version
