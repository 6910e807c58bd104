# shellcheck shell=bash
# Shared helpers for the service scripts. Sourced, never run. Everything here logs to stderr, because
# services-up.sh keeps stdout for `export` lines only.

CHAT3_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHAT3_STATE_DIR="${CHAT3_STATE_DIR:-$HOME/.cache/chat3-updates}"
CHAT3_MONGO_PORT="${CHAT3_MONGO_PORT:-27017}"
# The node helpers live in the testkit so they resolve the `mongodb` driver from its node_modules.
CHAT3_NODE_HELPERS="$CHAT3_ROOT/packages/testkit/bin"

log() {
  local tag="${0##*/}"
  printf '[%s] %s\n' "${tag%.sh}" "$*" >&2
}
die() { log "ERROR: $*"; exit 1; }

ensure_state_dir() { mkdir -p "$CHAT3_STATE_DIR"; }

# tcp_open HOST PORT: true when something accepts TCP connections there. Bash's /dev/tcp refuses
# instantly on a closed local port; `timeout` only guards against a host that drops packets.
tcp_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# amqp_answers HOST PORT: an AMQP 0-9-1 server answers the protocol header with a Connection.Start
# method frame (type 1). Stronger than tcp_open: some networks accept any TCP connection.
amqp_answers() {
  local first
  # shellcheck disable=SC2016 # $0 and $1 are expanded by the inner bash.
  first="$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "AMQP\000\000\011\001" >&3 && head -c 1 <&3 | od -An -tx1' "$1" "$2" 2>/dev/null)"
  [[ "${first// /}" == 01 ]]
}

# pid_alive PIDFILE [PATTERN]: the pid in the file is running and, when PATTERN is given, its command
# line contains PATTERN (so a recycled pid is never mistaken for our process).
pid_alive() {
  local pidfile="$1" pattern="${2:-}" pid
  [[ -s "$pidfile" ]] || return 1
  pid="$(cat "$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -n "$pattern" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern" || return 1
  fi
}

# stop_pidfile PIDFILE NAME [PATTERN]: SIGTERM, wait up to 15 s, then SIGKILL; removes the pid file.
stop_pidfile() {
  local pidfile="$1" name="$2" pattern="${3:-}" pid i
  if ! pid_alive "$pidfile" "$pattern"; then
    rm -f "$pidfile"
    return 0
  fi
  pid="$(cat "$pidfile")"
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not stop within 15 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$pidfile"
}

# node_deps_ready: the driver the node helpers need is installed.
node_deps_ready() { [[ -e "$CHAT3_ROOT/packages/testkit/node_modules/mongodb/package.json" ]]; }

ensure_node_deps() {
  node_deps_ready && return 0
  log "node dependencies are missing; running scripts/setup.sh first"
  bash "$CHAT3_ROOT/scripts/setup.sh" >&2
}

# mongo_ping URI [WAIT_MS]: one `ping`, retried until WAIT_MS passes (default: a single quick try).
mongo_ping() {
  node "$CHAT3_NODE_HELPERS/mongo-ping.mjs" "$1" "${2:-0}" >&2
}

# with_lock NAME: serialise concurrent runs (e.g. two terminals, or vitest plus a shell) on one state
# dir. The lock is held until the calling script exits, because the descriptor stays open; daemons
# started by spawn_detached close it, or they would hold the lock for their whole life.
with_lock() {
  command -v flock >/dev/null || return 0
  local fd
  exec {fd}>"$CHAT3_STATE_DIR/$1.lock"
  if ! flock -n "$fd"; then
    log "waiting for another run holding $CHAT3_STATE_DIR/$1.lock"
    flock -w 900 "$fd" || die "timed out waiting for $CHAT3_STATE_DIR/$1.lock"
  fi
}

# spawn_detached PIDFILE LOGFILE CMD...: start CMD in its own session so it outlives this script and
# the terminal. In a non-interactive shell the background subshell is no process-group leader, so
# setsid does not fork and $! stays the daemon's pid through both execs.
spawn_detached() {
  local pidfile="$1" logfile="$2"
  shift 2
  (
    # Close every inherited descriptor above stderr, lock files of parent scripts included.
    local path fd
    for path in "/proc/$BASHPID/fd/"*; do
      fd="${path##*/}"
      ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
    done
    exec setsid nohup "$@" >>"$logfile" 2>&1 </dev/null
  ) &
  echo "$!" >"$pidfile"
}
