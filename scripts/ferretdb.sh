#!/usr/bin/env bash
# The FerretDB stand-in for MongoDB, for machines with neither mongod nor a working
# mongodb-memory-server download.
# Usage: ferretdb.sh start [port] | stop [--hard] | restart [--hard] | status | build | path
# --hard is SIGKILL, a crash: faster than a graceful stop, which waits ~4 s for connected clients.
#
# States: not built → built (binary cached under the state dir, built once from the Go module proxy)
# → stopped ⇄ running (detached, pid file + log file in the state dir). Data survives stop/restart,
# so tests can restart the server under a live workload and find their data again.
#
# Storage: FerretDB's PostgreSQL handler when a local PostgreSQL answers (CHAT3_FERRETDB_HANDLER=auto),
# else its SQLite handler. Measured here, marking 500 of 20 000 documents takes 4 s on PostgreSQL and
# 80 s on SQLite (FerretDB scans the collection for every updated document), and SQLite answers
# concurrent writers with "database is locked". CHAT3_FERRETDB_HANDLER=sqlite|postgresql forces one.
# FerretDB's PostgreSQL pool is capped at 20 connections (its default, 50, exhausted PostgreSQL's 100
# as soon as a second instance ran, and a FerretDB that cannot get a connection hangs every request).
# FerretDB lacks change streams, transactions, partial/TTL indexes and atomic findAndModify under
# concurrency; the testkit probes for those and gates the tests that need them.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FERRETDB_VERSION=v1.24.2
# "-p3": our build carries a patch (see ferretdb_patch); the suffix makes older builds rebuild.
FERRETDB_BIN="$CHAT3_STATE_DIR/bin/ferretdb-$FERRETDB_VERSION-p3"
FERRETDB_DIR="$CHAT3_STATE_DIR/ferretdb"
FERRETDB_DATA="$FERRETDB_DIR/data"
FERRETDB_PIDFILE="$FERRETDB_DIR/ferretdb.pid"
FERRETDB_PORTFILE="$FERRETDB_DIR/ferretdb.port"
FERRETDB_LOG="$FERRETDB_DIR/ferretdb.log"
FERRETDB_HANDLERFILE="$FERRETDB_DIR/ferretdb.handler"
FERRETDB_PG_URL="${CHAT3_FERRETDB_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/chat3_ferretdb?sslmode=disable&pool_max_conns=20}"

# Sets FERRETDB_HANDLER_FLAGS; creates the PostgreSQL database (UTF8, C locale) when needed.
ferretdb_choose_handler() {
  local wanted="${CHAT3_FERRETDB_HANDLER:-auto}" db admin="${FERRETDB_PG_URL%/*}/postgres?sslmode=disable"
  if [[ "$wanted" != sqlite ]] && command -v psql >/dev/null && psql "$admin" -tAc 'select 1' >/dev/null 2>&1; then
    db="${FERRETDB_PG_URL##*/}"
    db="${db%%\?*}"
    if [[ "$(psql "$admin" -tAc "select 1 from pg_database where datname = '$db'")" != 1 ]]; then
      log "creating PostgreSQL database $db for FerretDB (UTF8, C locale)"
      psql "$admin" -qc "create database \"$db\" encoding 'UTF8' lc_collate 'C' lc_ctype 'C' template template0" >&2
    fi
    FERRETDB_HANDLER_FLAGS=(--handler=postgresql "--postgresql-url=$FERRETDB_PG_URL")
  elif [[ "$wanted" == postgresql ]]; then
    die "CHAT3_FERRETDB_HANDLER=postgresql, but no psql or no PostgreSQL answering at $admin"
  else
    FERRETDB_HANDLER_FLAGS=(--handler=sqlite "--sqlite-url=file:$FERRETDB_DATA/")
  fi
  printf '%s' "${FERRETDB_HANDLER_FLAGS[0]#--handler=}" >"$FERRETDB_HANDLERFILE"
}

# FerretDB 1.24 updates a document while the query that found it still holds its PostgreSQL connection:
# common.UpdateDocument iterates the query's rows and writes each match through a second connection
# from the same pool (and the `update` handler even keeps every statement's rows open until the whole
# command ends). So N concurrent updates hold N connections and wait for N more; once they fill the
# pool (20 here), every later request waits forever and FerretDB is dead until restarted. The builder's
# concurrent per-user stats writes, a bulk of lease upserts or the simulator's bulks all got there.
# The patch reads the matched documents first and closes the query (releasing its connection) before
# writing. Nothing a client can see changes; it is our stand-in's fix, not a product workaround.
ferretdb_patch() {
  local file="$1/internal/handler/common/update.go" anchor=$'\tresult := new(UpdateResult)'
  [[ "$(grep -cxF "$anchor" "$file")" == 1 ]] || die "FerretDB patch: $file no longer has the line it patches"
  awk -v anchor="$anchor" '{ print } $0 == anchor {
    print "\t// chat3-updates patch: read the matches and release the query connection before writing."
    print "\tdocs, err := iterator.ConsumeValues(iter)"
    print "\tif err != nil {"
    print "\t\treturn nil, lazyerrors.Error(err)"
    print "\t}"
    print "\titer = iterator.Values(iterator.ForSlice(docs))"
    print "\tdefer iter.Close()"
  }' "$file" >"$file.patched"
  mv -f "$file.patched" "$file"
}

ferretdb_build() {
  [[ -x "$FERRETDB_BIN" ]] && return 0
  command -v go >/dev/null ||
    die "Go is needed to build the FerretDB stand-in; install Go >= 1.24, put mongod on PATH, or set MONGODB_URI"
  log "building FerretDB $FERRETDB_VERSION into $FERRETDB_BIN (once per machine, about 1-2 minutes)"
  local work json dir started=$SECONDS
  work="$(mktemp -d)"
  # Outside any go.mod, so the download is not tied to a module of ours.
  json="$(cd "$work" && go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION")" ||
    die "go mod download failed: $json"
  dir="$(printf '%s' "$json" | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const j = JSON.parse(s);
      if (j.Error || !j.Dir) { console.error(j.Error ?? "no Dir in go mod download output"); process.exit(1); }
      console.log(j.Dir);
    });')"
  cp -r "$dir" "$work/src"
  chmod -R u+w "$work/src"
  # The module zip lacks the generated version file; without it the binary panics at start.
  printf '%s' "$FERRETDB_VERSION" >"$work/src/build/version/version.txt"
  ferretdb_patch "$work/src"
  mkdir -p "$(dirname "$FERRETDB_BIN")"
  (cd "$work/src" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -o "$FERRETDB_BIN.tmp.$$" ./cmd/ferretdb) >&2
  mv -f "$FERRETDB_BIN.tmp.$$" "$FERRETDB_BIN"
  rm -rf "$work"
  log "built FerretDB in $((SECONDS - started)) s"
}

ferretdb_running_port() {
  pid_alive "$FERRETDB_PIDFILE" ferretdb && [[ -s "$FERRETDB_PORTFILE" ]] && cat "$FERRETDB_PORTFILE"
}

ferretdb_uri() { printf 'mongodb://127.0.0.1:%s/' "$1"; }

ferretdb_start() {
  local port="${1:-$CHAT3_MONGO_PORT}" running
  ferretdb_build
  if running="$(ferretdb_running_port)"; then
    if [[ "$running" == "$port" ]] && tcp_open 127.0.0.1 "$port" && mongo_ping "$(ferretdb_uri "$port")" 5000; then
      log "reusing FerretDB already running on port $port (pid $(cat "$FERRETDB_PIDFILE"))"
      return 0
    fi
    log "the FerretDB we started earlier (port $running) is not usable on port $port; restarting it"
    stop_pidfile "$FERRETDB_PIDFILE" FerretDB ferretdb
  fi
  if tcp_open 127.0.0.1 "$port"; then
    die "port $port is taken by a process this script did not start; stop it, or set CHAT3_MONGO_PORT (or MONGODB_URI to use that server)"
  fi
  mkdir -p "$FERRETDB_DATA"
  # At warn level FerretDB dumps every failed command; keep one old log instead of an ever-growing one.
  if [[ -f "$FERRETDB_LOG" ]] && (($(stat -c %s "$FERRETDB_LOG") > 20 * 1024 * 1024)); then
    mv -f "$FERRETDB_LOG" "$FERRETDB_LOG.old"
  fi
  ferretdb_choose_handler
  log "starting FerretDB on 127.0.0.1:$port ($(cat "$FERRETDB_HANDLERFILE") storage, log $FERRETDB_LOG)"
  spawn_detached "$FERRETDB_PIDFILE" "$FERRETDB_LOG" "$FERRETDB_BIN" \
    "${FERRETDB_HANDLER_FLAGS[@]}" --listen-addr="127.0.0.1:$port" \
    --state-dir="$FERRETDB_DIR" --telemetry=disable --debug-addr=- --log-level=warn
  printf '%s' "$port" >"$FERRETDB_PORTFILE"
  local i
  for ((i = 0; i < 300; i++)); do
    pid_alive "$FERRETDB_PIDFILE" || { tail -n 20 "$FERRETDB_LOG" >&2; die "FerretDB exited during start; log above"; }
    tcp_open 127.0.0.1 "$port" && break
    sleep 0.1
  done
  mongo_ping "$(ferretdb_uri "$port")" 30000 || { tail -n 20 "$FERRETDB_LOG" >&2; die "FerretDB does not answer on port $port"; }
  log "FerretDB is up (pid $(cat "$FERRETDB_PIDFILE"))"
}

ferretdb_stop() {
  if [[ "${1:-}" == --hard ]] && pid_alive "$FERRETDB_PIDFILE" ferretdb; then
    local pid i
    pid="$(cat "$FERRETDB_PIDFILE")"
    log "killing FerretDB (pid $pid, SIGKILL)"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    rm -f "$FERRETDB_PIDFILE"
    return 0
  fi
  stop_pidfile "$FERRETDB_PIDFILE" FerretDB ferretdb
}

ferretdb_status() {
  local port
  if port="$(ferretdb_running_port)" && tcp_open 127.0.0.1 "$port" && mongo_ping "$(ferretdb_uri "$port")" 0 2>/dev/null; then
    echo "running pid=$(cat "$FERRETDB_PIDFILE") port=$port uri=$(ferretdb_uri "$port") storage=$(cat "$FERRETDB_HANDLERFILE" 2>/dev/null)"
    return 0
  fi
  echo "stopped"
  return 3
}

main() {
  local cmd="${1:-}"
  ensure_state_dir
  mkdir -p "$FERRETDB_DIR"
  case "$cmd" in
    build) with_lock ferretdb-build; ferretdb_build ;;
    path) with_lock ferretdb-build; ferretdb_build; echo "$FERRETDB_BIN" ;;
    start) ensure_node_deps; with_lock ferretdb; ferretdb_start "${2:-}" ;;
    stop) with_lock ferretdb; ferretdb_stop "${2:-}" ;;
    restart)
      ensure_node_deps
      with_lock ferretdb
      # Keep the port the running instance has, so clients holding its URI reconnect to it.
      local port
      port="$(ferretdb_running_port || true)"
      ferretdb_stop "${2:-}"
      ferretdb_start "${port:-$CHAT3_MONGO_PORT}"
      ;;
    status) ensure_node_deps; ferretdb_status ;;
    *) echo "usage: $0 start [port] | stop [--hard] | restart [--hard] | status | build | path" >&2; exit 2 ;;
  esac
}

main "$@"
