#!/usr/bin/env bash
# Makes sure RabbitMQ and a MongoDB-compatible server are running, then prints ONLY `export` lines on
# stdout, so `eval "$(bash scripts/services-up.sh)"` works. Everything else goes to stderr.
#
# Mongo, first that fits: MONGODB_URI from the environment (external) → mongod on PATH, as a
# single-node replica set (mongod) → mongodb-memory-server in a detached daemon (memory-server; a
# failed download is remembered for 24 h, CHAT3_RETRY_MEMORY_SERVER=1 retries) → FerretDB built from
# the Go module proxy (ferretdb). A server started by an earlier run is reused; the choice is
# recorded in $CHAT3_STATE_DIR/mongo.env so services-down.sh and later runs know what is ours.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# stdout is for the export lines only; anything a helper prints must not leak into the eval.
exec 3>&1 1>&2

MONGO_STATE="$CHAT3_STATE_DIR/mongo.env"
MEMORY_FAILED="$CHAT3_STATE_DIR/memory-server.failed"
MEMORY_DIR="$CHAT3_STATE_DIR/memory-server"
MONGOD_DIR="$CHAT3_STATE_DIR/mongod"
MEMORY_RETRY_AFTER_S=$((24 * 3600))

# ---------------------------------------------------------------------------------------------------
# State: what an earlier run started (kind and uri), so it can be recognised and reused.

recorded_kind=""
recorded_uri=""
read_mongo_state() {
  [[ -s "$MONGO_STATE" ]] || return 0
  recorded_kind="$(sed -n 's/^kind=//p' "$MONGO_STATE")"
  recorded_uri="$(sed -n 's/^uri=//p' "$MONGO_STATE")"
}

write_mongo_state() {
  printf 'kind=%s\nuri=%s\n' "$1" "$2" >"$MONGO_STATE.tmp"
  mv -f "$MONGO_STATE.tmp" "$MONGO_STATE"
}

managed_alive() {
  case "$1" in
    ferretdb) bash "$CHAT3_ROOT/scripts/ferretdb.sh" status >/dev/null 2>&1 ;;
    memory-server) pid_alive "$MEMORY_DIR/daemon.pid" memory-server-daemon && [[ -s "$MEMORY_DIR/uri" ]] && mongo_ping "$(cat "$MEMORY_DIR/uri")" 0 ;;
    mongod) pid_alive "$MONGOD_DIR/mongod.pid" mongod && mongo_ping "$recorded_uri" 0 ;;
    *) return 1 ;;
  esac
}

stop_managed() {
  case "$1" in
    ferretdb) bash "$CHAT3_ROOT/scripts/ferretdb.sh" stop ;;
    memory-server) stop_pidfile "$MEMORY_DIR/daemon.pid" "memory-server daemon" memory-server-daemon ;;
    mongod) stop_pidfile "$MONGOD_DIR/mongod.pid" mongod mongod ;;
  esac
}

# ---------------------------------------------------------------------------------------------------
# Mongo, one function per kind. Each sets MONGODB_URI and CHAT3_MONGO_KIND or returns 1.

use_external() {
  # A URI we exported ourselves in an earlier eval is not "external": keep its real kind, so tests
  # still know they may restart it.
  if [[ -n "$recorded_kind" && "$MONGODB_URI" == "$recorded_uri" ]] && managed_alive "$recorded_kind"; then
    log "MONGODB_URI is the $recorded_kind server an earlier run started; reusing it"
    CHAT3_MONGO_KIND="$recorded_kind"
    return 0
  fi
  log "mongo: using MONGODB_URI from the environment (kind external)"
  mongo_ping "$MONGODB_URI" 10000 || die "MONGODB_URI does not answer a ping"
  CHAT3_MONGO_KIND=external
}

start_mongod() {
  local port="$CHAT3_MONGO_PORT" uri="mongodb://127.0.0.1:$CHAT3_MONGO_PORT/?replicaSet=rs0"
  mkdir -p "$MONGOD_DIR/data"
  if pid_alive "$MONGOD_DIR/mongod.pid" mongod && mongo_ping "$uri" 5000; then
    log "mongo: reusing the mongod replica set started earlier on port $port"
  else
    tcp_open 127.0.0.1 "$port" && die "port $port is taken by a process this script did not start; set CHAT3_MONGO_PORT or MONGODB_URI"
    log "mongo: starting mongod ($(command -v mongod)) as replica set rs0 on port $port, data $MONGOD_DIR/data"
    mongod --replSet rs0 --port "$port" --bind_ip 127.0.0.1 --dbpath "$MONGOD_DIR/data" \
      --fork --logpath "$MONGOD_DIR/mongod.log" --pidfilepath "$MONGOD_DIR/mongod.pid" >&2 ||
      { tail -n 20 "$MONGOD_DIR/mongod.log" >&2; die "mongod failed to start; log above"; }
  fi
  node "$CHAT3_NODE_HELPERS/mongo-rs-initiate.mjs" "127.0.0.1:$port" rs0 || die "could not initiate replica set rs0"
  MONGODB_URI="$uri"
  CHAT3_MONGO_KIND=mongod
}

memory_server_recently_failed() {
  [[ -f "$MEMORY_FAILED" && "${CHAT3_RETRY_MEMORY_SERVER:-}" != 1 ]] || return 1
  local age=$(($(date +%s) - $(stat -c %Y "$MEMORY_FAILED")))
  ((age < MEMORY_RETRY_AFTER_S)) || return 1
  log "mongo: skipping mongodb-memory-server: it failed $((age / 60)) min ago ($(head -n 1 "$MEMORY_FAILED")); CHAT3_RETRY_MEMORY_SERVER=1 retries"
}

start_memory_server() {
  local port="$CHAT3_MONGO_PORT" pidfile="$MEMORY_DIR/daemon.pid" i
  mkdir -p "$MEMORY_DIR"
  if pid_alive "$pidfile" memory-server-daemon && [[ -s "$MEMORY_DIR/uri" ]] && mongo_ping "$(cat "$MEMORY_DIR/uri")" 5000; then
    log "mongo: reusing the mongodb-memory-server daemon started earlier (pid $(cat "$pidfile"))"
  else
    stop_pidfile "$pidfile" "memory-server daemon" memory-server-daemon
    if tcp_open 127.0.0.1 "$port"; then
      log "mongo: port $port is taken, so mongodb-memory-server cannot use it"
      return 1
    fi
    log "mongo: starting mongodb-memory-server (replica set rs0 on port $port; the first run downloads mongod)"
    rm -f "$MEMORY_DIR/uri" "$MEMORY_DIR/error"
    spawn_detached "$pidfile" "$MEMORY_DIR/daemon.log" \
      node "$CHAT3_NODE_HELPERS/memory-server-daemon.mjs" "$port" "$MEMORY_DIR/uri" "$MEMORY_DIR/error"
    # A mongod download can take minutes on a slow line; a failure ends the daemon much sooner.
    for ((i = 0; i < 6000; i++)); do
      [[ -s "$MEMORY_DIR/uri" ]] && break
      if ! pid_alive "$pidfile"; then
        local reason="daemon exited"
        [[ -s "$MEMORY_DIR/error" ]] && reason="$(head -n 2 "$MEMORY_DIR/error" | tr -s "\n" " " | sed "s/ *$//")"
        printf '%s\n' "$reason" >"$MEMORY_FAILED"
        log "mongo: mongodb-memory-server failed: $reason"
        log "mongo: not trying it again for 24 h (marker $MEMORY_FAILED); full log $MEMORY_DIR/daemon.log"
        rm -f "$pidfile"
        return 1
      fi
      sleep 0.1
    done
    [[ -s "$MEMORY_DIR/uri" ]] || { stop_pidfile "$pidfile" "memory-server daemon" memory-server-daemon; log "mongo: mongodb-memory-server did not start within 10 min"; return 1; }
    rm -f "$MEMORY_FAILED"
  fi
  MONGODB_URI="$(cat "$MEMORY_DIR/uri")"
  CHAT3_MONGO_KIND=memory-server
}

start_ferretdb() {
  log "mongo: using the FerretDB stand-in (no MONGODB_URI, no mongod on PATH, no mongodb-memory-server)"
  bash "$CHAT3_ROOT/scripts/ferretdb.sh" start "$CHAT3_MONGO_PORT"
  MONGODB_URI="mongodb://127.0.0.1:$CHAT3_MONGO_PORT/"
  CHAT3_MONGO_KIND=ferretdb
}

# Before starting a kind, stop a different kind an earlier run left on our port.
stop_other_managed() {
  if [[ -n "$recorded_kind" && "$recorded_kind" != "$1" && "$recorded_kind" != external ]]; then
    log "mongo: stopping the $recorded_kind server an earlier run started, in favour of $1"
    stop_managed "$recorded_kind" || true
    rm -f "$MONGO_STATE"
    recorded_kind=""
  fi
}

ensure_mongo() {
  read_mongo_state
  if [[ -n "${MONGODB_URI:-}" ]]; then
    use_external
    return
  fi
  # Warm path: what we started last time is still up on the port asked for, and nothing better is
  # wanted: no mongod has appeared on PATH since, and no retry of the memory server was asked for.
  local better_wanted=false
  [[ "$recorded_kind" != mongod ]] && command -v mongod >/dev/null && better_wanted=true
  [[ "$recorded_kind" == ferretdb && "${CHAT3_RETRY_MEMORY_SERVER:-}" == 1 ]] && better_wanted=true
  if [[ -n "$recorded_kind" && "$recorded_uri" == *":$CHAT3_MONGO_PORT/"* && "$better_wanted" == false ]] &&
    managed_alive "$recorded_kind"; then
    log "mongo: reusing the $recorded_kind server started earlier ($(redact "$recorded_uri"))"
    MONGODB_URI="$recorded_uri"
    CHAT3_MONGO_KIND="$recorded_kind"
    return
  fi
  if command -v mongod >/dev/null; then
    stop_other_managed mongod
    start_mongod
  elif ! memory_server_recently_failed && stop_other_managed memory-server && start_memory_server; then
    :
  else
    stop_other_managed ferretdb
    start_ferretdb
  fi
  write_mongo_state "$CHAT3_MONGO_KIND" "$MONGODB_URI"
}

# ---------------------------------------------------------------------------------------------------
# RabbitMQ

ensure_rabbitmq() {
  RABBITMQ_URL="${RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:5672}"
  # amqp[s]://[user[:pass]@]host[:port][/vhost]
  local re='^amqps?://([^@/]*@)?(\[[^]]*\]|[^:/?]+)(:([0-9]+))?'
  [[ "$RABBITMQ_URL" =~ $re ]] || die "cannot parse RABBITMQ_URL"
  local host="${BASH_REMATCH[2]}" port="${BASH_REMATCH[4]:-5672}"
  host="${host#[}" && host="${host%]}"
  # Under TLS the plain AMQP header gets no answer, so amqps only checks that the port is open.
  local probe=amqp_answers
  [[ "$RABBITMQ_URL" == amqps://* ]] && probe=tcp_open
  if "$probe" "$host" "$port"; then
    log "rabbitmq: $host:$port answers"
    return 0
  fi
  PATH="$PATH:/usr/sbin:/sbin"
  case "$host" in
    127.0.0.1 | localhost | ::1) ;;
    *) die "RabbitMQ at $host:$port is not reachable, and it is not local, so it cannot be started here" ;;
  esac
  if ! command -v rabbitmq-server >/dev/null; then
    [[ "$(id -u)" == 0 ]] || die "RabbitMQ is not installed; install rabbitmq-server (apt-get install rabbitmq-server) or set RABBITMQ_URL"
    command -v apt-get >/dev/null || die "RabbitMQ is not installed and there is no apt-get; install it or set RABBITMQ_URL"
    log "rabbitmq: not installed; running apt-get update && apt-get install -y rabbitmq-server (as root)"
    DEBIAN_FRONTEND=noninteractive apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y rabbitmq-server >&2
    # The package's post-install may have started it already.
    amqp_answers "$host" "$port" && { log "rabbitmq: started by the package install"; return 0; }
  fi
  [[ "$port" == 5672 ]] || die "RabbitMQ is not listening on port $port; only the default port 5672 is started automatically"
  log "rabbitmq: starting rabbitmq-server -detached"
  rabbitmq-server -detached >&2 || die "rabbitmq-server -detached failed"
  # -detached returns at once, and await_startup fails at once while the node is not yet registered
  # with epmd, so both are retried until the deadline.
  local deadline=$((SECONDS + 120))
  while ((SECONDS < deadline)); do
    if timeout 30 rabbitmqctl -q await_startup --timeout 25 >/dev/null 2>&1 && amqp_answers "$host" "$port"; then
      log "rabbitmq: up"
      return 0
    fi
    sleep 1
  done
  die "RabbitMQ did not start within 120 s; see the logs in /var/log/rabbitmq"
}

# ---------------------------------------------------------------------------------------------------

redact() { sed -E 's#//[^@/]*@#//***@#' <<<"$1"; }

shell_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

main() {
  local started=$SECONDS
  ensure_state_dir
  ensure_node_deps
  with_lock services
  ensure_rabbitmq
  ensure_mongo
  log "ready in $((SECONDS - started)) s: CHAT3_MONGO_KIND=$CHAT3_MONGO_KIND MONGODB_URI=$(redact "$MONGODB_URI")"
  {
    echo "export MONGODB_URI=$(shell_quote "$MONGODB_URI")"
    echo "export RABBITMQ_URL=$(shell_quote "$RABBITMQ_URL")"
    echo "export CHAT3_MONGO_KIND=$(shell_quote "$CHAT3_MONGO_KIND")"
  } >&3
}

main "$@"
