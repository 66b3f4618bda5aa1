#!/usr/bin/env bash
# Builds Perf-Aggregator and runs every test: first the normal build, then the
# whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
# Usage: bash scripts/test.sh [--no-sanitize]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=$(nproc)
run() {  # dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j "$jobs" >/dev/null
  ctest --test-dir "$dir" --output-on-failure -j "$jobs"
}
echo "== build and test (RelWithDebInfo)"
run build
if [ "${1:-}" != "--no-sanitize" ]; then
  echo "== build and test (ASan + UBSan)"
  run build-asan -DPERFAGG_SANITIZE=ON
fi
