#!/usr/bin/env bash
# Entry for the root package.json scripts: setup, services, then the task.
# Usage: run.sh test|demo|bench-builder|bench-relay|bench-replay|bench-api [args passed on]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

task="${1:-}"
[[ $# -gt 0 ]] && shift

bash scripts/setup.sh
# Captured first: `eval "$(…)"` alone would swallow a failing services-up.
exports="$(bash scripts/services-up.sh)"
eval "$exports"

case "$task" in
  test)
    pnpm exec tsc -p tsconfig.json
    pnpm exec vitest run "$@"
    # The fault simulation and whole-broker faults, one file at a time (see vitest.shared.ts).
    pnpm exec vitest run --config vitest.serial.config.ts "$@"
    ;;
  demo) pnpm exec tsx scripts/demo.ts "$@" ;;
  bench-builder) pnpm exec tsx scripts/bench-builder.ts "$@" ;;
  bench-relay) pnpm exec tsx scripts/bench-relay.ts "$@" ;;
  bench-replay) pnpm exec tsx scripts/bench-replay.ts "$@" ;;
  bench-api) pnpm exec tsx scripts/bench-api.ts "$@" ;;
  *)
    echo "usage: $0 test|demo|bench-builder|bench-relay|bench-replay|bench-api [args]" >&2
    exit 2
    ;;
esac
