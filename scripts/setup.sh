#!/usr/bin/env bash
# Idempotent project setup: pnpm at the version package.json pins, docker-compose for the compose
# check (Debian package, when missing), and `pnpm install` only when
# node_modules is missing or pnpm-lock.yaml changed since the last install (a stamp under
# node_modules/ holds the lockfile's hash). Logs to stderr.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
exec 1>&2

PNPM_VERSION=10.34.9
STAMP="$CHAT3_ROOT/node_modules/.chat3-install-stamp"

command -v node >/dev/null || die "Node.js >= 20.19 is required"
if [[ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]]; then
  log "installing pnpm@$PNPM_VERSION (npm i -g)"
  npm i -g "pnpm@$PNPM_VERSION"
fi

# docker-compose (Debian's 1.29) parses docker/docker-compose.yml in the tests; no container engine is
# needed. Installed when missing and apt-get is usable (root); otherwise that check is skipped loudly.
if ! command -v docker-compose >/dev/null && command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
  log "installing docker-compose (apt-get, Debian package)"
  apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker-compose >/dev/null; }
  apt_install || { apt-get update >/dev/null && apt_install; } || log "could not install docker-compose; the compose check will be skipped"
fi

lock_hash="$(sha256sum "$CHAT3_ROOT/pnpm-lock.yaml" | cut -d' ' -f1)"
if [[ -d "$CHAT3_ROOT/node_modules" && -f "$STAMP" && "$(cat "$STAMP")" == "$lock_hash" ]]; then
  exit 0
fi
log "installing dependencies (pnpm install --frozen-lockfile)"
(cd "$CHAT3_ROOT" && pnpm install --frozen-lockfile)
printf '%s' "$lock_hash" >"$STAMP"
log "dependencies installed"
