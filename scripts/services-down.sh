#!/usr/bin/env bash
# Stops the Mongo server services-up.sh started (FerretDB, the mongodb-memory-server daemon or mongod).
# Never touches RabbitMQ, which may be shared with other work, nor an external MONGODB_URI.
# Data dirs stay, so the next services-up starts on the same data.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_state_dir
with_lock services

# Stop every kind we may have started, not only the recorded one: a crashed run may have left the
# state file behind or out of date. Each stop is a no-op when its pid file names no live process.
bash "$CHAT3_ROOT/scripts/ferretdb.sh" stop
stop_pidfile "$CHAT3_STATE_DIR/memory-server/daemon.pid" "memory-server daemon" memory-server-daemon
rm -f "$CHAT3_STATE_DIR/memory-server/uri"
stop_pidfile "$CHAT3_STATE_DIR/mongod/mongod.pid" mongod mongod
rm -f "$CHAT3_STATE_DIR/mongo.env"
log "stopped the Mongo server(s) started by services-up (RabbitMQ left running)"
