#!/usr/bin/env bash
# Installs the Debian packages Perf-Aggregator builds and tests with, if any is missing.
# Idempotent; needs root (or sudo) only when something is missing.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libmicrohttpd-dev libssl-dev libsodium-dev libjansson-dev
      libcurl4-openssl-dev libsqlite3-dev libcmocka-dev curl)
[ "${PERFAGG_BENCH_DEPS:-0}" = 1 ] && pkgs+=(wrk)
# The ccxt judge (tests/ccxt) runs on Node.js: Debian's, unless one is already there.
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
# ccxt, exactly as tests/ccxt/package-lock.json pins it, into tests/ccxt/node_modules
# (again whenever the lockfile changed since the last install).
judge="$(cd "$(dirname "$0")/.." && pwd)/tests/ccxt"
stamp="$judge/node_modules/.package-lock.json"
if [ ! -f "$judge/node_modules/ccxt/package.json" ] || [ "$judge/package-lock.json" -nt "$stamp" ]; then
  echo "deps: npm ci in tests/ccxt" >&2
  (cd "$judge" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
