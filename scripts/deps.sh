#!/usr/bin/env bash
# Installs the Debian packages Perf-Aggregator builds and tests with, if any is missing.
# Idempotent; needs root (or sudo) only when something is missing.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libmicrohttpd-dev libssl-dev libsodium-dev libjansson-dev
      libcurl4-openssl-dev libsqlite3-dev libcmocka-dev curl)
[ "${PERFAGG_BENCH_DEPS:-0}" = 1 ] && pkgs+=(wrk)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
