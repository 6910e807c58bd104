#!/usr/bin/env bash
# Idempotent project setup: pnpm at the version package.json pins, docker-compose for the compose
# check (Debian package, when missing), `pnpm install` only when
# node_modules is missing or pnpm-lock.yaml changed since the last install (a stamp under
# node_modules/ holds the lockfile's hash), and Prometheus with promtool for the monitoring kit's tests
# (Debian's `prometheus` package, when missing and we are root). Logs to stderr.
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

# Prometheus and promtool (ops/test). Installed without starting the package's own service: it would
# hold port 9090 in the background; the tests run their own Prometheus on a free port. Without root or
# apt-get this only warns, and the ops tests fail saying what is missing.
ensure_prometheus() {
  command -v promtool >/dev/null && command -v prometheus >/dev/null && return 0
  if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
    log "WARNING: prometheus/promtool are not installed and cannot be installed here (needs root and apt-get); the ops tests will fail. Install Debian's 'prometheus' package."
    return 0
  fi
  log "installing prometheus and promtool (apt-get install prometheus, its service not started)"
  local policy=/usr/sbin/policy-rc.d added_policy=false
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added_policy=true
  fi
  local status=0
  {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null ||
      { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
  } || status=$?
  [[ "$added_policy" == true ]] && rm -f "$policy"
  # Where systemd runs services, make sure the package's own Prometheus neither runs nor starts at boot.
  if command -v systemctl >/dev/null && systemctl is-enabled prometheus >/dev/null 2>&1; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
  if ((status != 0)); then
    log "WARNING: apt-get install prometheus failed (exit $status); the ops tests will fail"
  else
    log "prometheus installed: $(prometheus --version 2>&1 | head -n 1)"
  fi
}
ensure_prometheus

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
