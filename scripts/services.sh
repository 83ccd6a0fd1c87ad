#!/usr/bin/env bash
# Provision and start the services enrich needs, idempotently.
#   scripts/services.sh redis influxdb postgres browser mosquitto
#   scripts/services.sh python-venv   # the Makefile, when its python3 cannot make a virtualenv
# A service that already answers is reused, never restarted or killed. A missing one is
# installed from Debian's packages (apt-get, as root or through sudo) and started.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VAR="$ROOT/var"
# var/ holds the home's history (InfluxDB), the archive, the database, Redis' snapshots and the
# logs: readable by its owner only, like everything the servers started here write (umask).
umask 077
mkdir -p "$VAR/log"
chmod 700 "$VAR" "$VAR/log"

# A variable (REDIS_URL, MQTT_URL, the ports below) as under `make run` honcho gives it to the
# processes: .env's over the shell's; ENRICH_ENV_FILE=none (the tests' settings) reads no .env.
env_value() {  # env_value <name> [<default>]
  local file=${ENRICH_ENV_FILE:-$ROOT/.env} value=""
  if [ "$file" != none ] && [ -f "$file" ]; then
    value=$(awk -F= -v name="$1" '$1 == name { sub(/^[^=]*=/, ""); value = $0 }
      END { gsub(/^["\047]|["\047]$/, "", value); print value }' "$file")
  fi
  echo "${value:-${!1:-${2:-}}}"
}

INFLUXDB_HTTP_PORT=$(env_value ENRICH_INFLUXDB_PORT 8186)
INFLUXDB_RPC_PORT=$(env_value ENRICH_INFLUXDB_RPC_PORT 8188)
INFLUXDB_DATA_DIR=$(env_value ENRICH_INFLUXDB_DATA_DIR "$VAR/influxdb")
# A relative one from the project's root, as var/ (not from wherever make or the script ran).
[[ $INFLUXDB_DATA_DIR == /* ]] || INFLUXDB_DATA_DIR=$ROOT/$INFLUXDB_DATA_DIR
REDIS_PORT=$(env_value ENRICH_REDIS_PORT 6379)
PG_PORT=$(env_value ENRICH_PG_PORT 5432)
MQTT_PORT=$(env_value ENRICH_MQTT_PORT 1883)

log() { echo "[services] $*" >&2; }

# Installing packages and starting system services needs root: as root directly, otherwise
# through sudo. Without sudo, or when sudo refuses, stop before the step, saying what to run as
# root instead (a machine where everything is installed and running needs neither).
SUDO=""
need_root() {  # need_root <what needs it> <the command to run as root instead>
  if [ "$(id -u)" = 0 ] || [ -n "$SUDO" ]; then return 0; fi
  local why
  if ! command -v sudo >/dev/null; then
    why="sudo is not installed"
  elif ! sudo -v; then
    why="sudo refused"
  else
    SUDO="sudo"
    return 0
  fi
  log "ERROR: $1 needs root, and $why. Run as root:"
  log "         $2"
  log "       (or install sudo and give $(id -un) its rights), then run this again."
  exit 1
}

# A command as root (need_root first), with the system's usual umask rather than this script's
# 077: a package's scripts create files every user must read (a 0600 /etc file breaks it).
as_root() { (umask 022 && exec $SUDO "$@"); }

apt_updated=""
apt_install() {
  need_root "installing $*" "apt-get update && apt-get install -y $*"
  if [ -z "$apt_updated" ]; then
    log "apt-get update"
    as_root apt-get update -qq
    apt_updated=1
  fi
  log "apt-get install -y $*"
  # Through env: sudo drops the caller's DEBIAN_FRONTEND, and debconf then asked its questions.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# apt starts a server package's own service, with the package's config, and enables it at
# boot: Debian's InfluxDB listens on every interface (port 8086) without authentication. The
# instances enrich uses are its own (loopback, data in var/), so a service just installed for
# them is stopped and disabled.
apt_install_server() {  # apt_install_server <package> <its service>
  apt_install "$1"
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    as_root systemctl disable --now "$2" >/dev/null 2>&1 || true
  else
    as_root service "$2" stop >/dev/null 2>&1 || true
    as_root update-rc.d "$2" disable >/dev/null 2>&1 || true
  fi
  log "$2: the package's own service stopped and disabled (enrich starts its own)"
}

wait_for() {  # wait_for <what> <seconds> <command...>
  local what=$1 seconds=$2; shift 2
  for _ in $(seq 1 $((seconds * 4))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  log "ERROR: $what did not come up within ${seconds}s"
  return 1
}

# The first line a server on the Redis port answers to PING ("+PONG", or "-NOAUTH ..." from one
# that wants a password), empty when nothing answers; `redis_answer <user> <password>` logs in
# first (AUTH). Over bash's /dev/tcp: a Redis may run (in a container, say) on a machine without
# redis-cli, and a password given to redis-cli would show in `ps` to every local user. Asked on
# 127.0.0.1, or on $ask_host (the URL's: localhost, ::1) where the caller sets it.
redis_answer() {
  local line=""
  (
    exec 2>/dev/null 3<>"/dev/tcp/${ask_host:-127.0.0.1}/$REDIS_PORT" || exit
    if [ $# = 2 ]; then  # AUTH [user] password, in Redis' protocol (lengths in bytes)
      export LC_ALL=C
      if [ -n "$1" ]; then printf '*3\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n' "${#1}" "$1"
      else printf '*2\r\n$4\r\nAUTH\r\n'; fi >&3
      printf '$%d\r\n%s\r\n' "${#2}" "$2" >&3
      read -r -t 5 line <&3 || exit
    fi
    printf 'PING\r\n' >&3 && read -r -t 5 line <&3 && echo "${line%$'\r'}"
  ) || true
}

redis_pong() { [ "$(redis_answer)" = +PONG ]; }

# A URL's parts: url_user and url_password (user[:password]@, their %-escapes decoded),
# url_host (an IPv6 address without its brackets: [::1]) and url_port (empty when it names none).
url_parts() {
  local rest=${1#*://}
  rest=${rest%%/*}
  url_user="" url_password=""
  if [[ $rest == *@* ]]; then
    url_user=${rest%@*}
    rest=${rest##*@}
    [[ $url_user != *:* ]] || { url_password=${url_user#*:}; url_user=${url_user%%:*}; }
    url_user=$(printf '%b' "${url_user//%/\\x}")
    url_password=$(printf '%b' "${url_password//%/\\x}")
  fi
  if [[ $rest == \[* ]]; then
    url_host=${rest%%]*}
    url_host=${url_host#\[}
    rest=${rest#*]}
  else
    url_host=${rest%:*}
    rest=${rest#"$url_host"}
  fi
  url_port=${rest#:}
}

loopback() { [ "$1" = 127.0.0.1 ] || [ "$1" = localhost ] || [ "$1" = ::1 ]; }

# names_another <url> <scheme> <its default port> <port>: the URL (read by url_parts) names another server.
names_another() { [ -n "$1" ] && { [[ $1 != "$2"://* ]] || [ "${url_port:-$3}" != "$4" ] || ! loopback "$url_host"; }; }

# A Redis on the port that wants a password is never started again beside it (the port is
# taken): it is used when REDIS_URL's login opens it, otherwise the script says how.
redis_with_password() {
  local url url_user url_password url_host="" url_port
  url=$(env_value REDIS_URL)
  url_parts "$url"
  if [ -z "$url_password" ]; then url_password=$url_user url_user=""; fi  # redis://PASSWORD@
  if names_another "$url" redis 6379 "$REDIS_PORT"; then
    log "redis: the one on 127.0.0.1:$REDIS_PORT asks for a password; REDIS_URL names another: left alone"
    return
  fi
  local ask_host=$url_host answer=""  # asked where the processes will ask
  [ -z "$url_password" ] || answer=$(redis_answer "$url_user" "$url_password")
  if [ "$answer" = +PONG ]; then
    log "redis: running on 127.0.0.1:$REDIS_PORT, with a password: REDIS_URL's opens it"
    return
  fi
  local given="is not set"
  if [ -n "$url_password" ] && [ -z "$answer" ] && [ -z "$(redis_answer)" ]; then
    given="names $url_host, where no Redis answers on port $REDIS_PORT"
  elif [ -n "$url" ]; then
    given="does not give the right one"
  fi
  log "ERROR: the Redis on 127.0.0.1:$REDIS_PORT asks for a password (requirepass), and REDIS_URL $given."
  log "       Put its password in .env: REDIS_URL=redis://:PASSWORD@127.0.0.1:$REDIS_PORT/0 (with"
  log "       %2F, %3A, %40 for / : @), or stop that Redis and run this again to start enrich's own."
  exit 1
}

ensure_redis() {
  local answer
  answer=$(redis_answer)
  case $answer in
    +PONG)
      log "redis: running on 127.0.0.1:$REDIS_PORT"
      return ;;
    -NOAUTH*|-WRONGPASS*)
      redis_with_password
      return ;;
    ?*)
      log "ERROR: 127.0.0.1:$REDIS_PORT answers PING with '$answer', not as a Redis enrich can use:"
      log "       stop what listens there, or set ENRICH_REDIS_PORT (and REDIS_URL) to a free port."
      exit 1 ;;
  esac
  command -v redis-server >/dev/null || apt_install_server redis-server redis-server
  log "redis: starting on 127.0.0.1:$REDIS_PORT"
  # Snapshots (a minute after a change, and at shutdown) in var/redis/: the last good answers,
  # API budgets and remembered refusals survive a restart or a reboot.
  mkdir -p "$VAR/redis"
  chmod 700 "$VAR/redis"
  # Warnings only in its log: at Redis' default level each snapshot writes five lines, and
  # enrich changes a key every few seconds, so a snapshot a minute made redis.log (never
  # rotated) grow by about 530 KB a day, 190 MB a year.
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save 60 1 \
    --appendonly no --dir "$VAR/redis" --dbfilename "dump-$REDIS_PORT.rdb" \
    --logfile "$VAR/log/redis.log" --loglevel warning
  wait_for redis 15 redis_pong
}

# InfluxDB's /ping answers 204. Asked over bash's /dev/tcp, not curl: a fresh Debian (its
# minimal install, its container image) has no curl, and an InfluxDB it started then never
# seemed to come up.
influx_ping() {
  local status
  status=$(exec 2>/dev/null 3<>"/dev/tcp/127.0.0.1/$INFLUXDB_HTTP_PORT" \
    && printf 'GET /ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 \
    && read -r -t 5 status <&3 && echo "$status") || return 1
  [[ $status == "HTTP/1."[01]" 204"* ]]
}

ensure_influxdb() {
  if influx_ping; then
    log "influxdb: running on 127.0.0.1:$INFLUXDB_HTTP_PORT"
    return
  fi
  command -v influxd >/dev/null || apt_install_server influxdb influxdb
  mkdir -p "$INFLUXDB_DATA_DIR"
  chmod 700 "$INFLUXDB_DATA_DIR"
  local conf="$INFLUXDB_DATA_DIR/influxdb.conf" text dir
  # The template rendered by bash, not sed: a directory with #, & or | broke sed's expression
  # (or put the data elsewhere). Written into TOML strings, its \ and " escaped.
  text=$(<"$ROOT/scripts/influxdb.conf.template")
  dir=${INFLUXDB_DATA_DIR//\\/\\\\}
  dir=${dir//\"/\\\"}
  text=${text//@DATA_DIR@/"$dir"}
  text=${text//@HTTP_PORT@/"$INFLUXDB_HTTP_PORT"}
  printf '%s\n' "${text//@RPC_PORT@/"$INFLUXDB_RPC_PORT"}" > "$conf"
  log "influxdb: starting on 127.0.0.1:$INFLUXDB_HTTP_PORT (data in $INFLUXDB_DATA_DIR)"
  nohup influxd -config "$conf" >>"$VAR/log/influxd.log" 2>&1 &
  echo $! > "$INFLUXDB_DATA_DIR/influxd.pid"
  wait_for influxdb 30 influx_ping || { tail -20 "$VAR/log/influxd.log" >&2; exit 1; }
}

pg_ready() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; }

psql_as_postgres() {  # psql_as_postgres <sql>: as the cluster's owner (its peer login)
  local sql=$1
  if [ "$(id -u)" = 0 ]; then
    su postgres -s /bin/sh -c "psql -p $PG_PORT -d postgres -c \"$sql\""
  else
    need_root "creating the PostgreSQL role enrich" \
      "su postgres -c 'psql -p $PG_PORT -d postgres', then: $sql;"
    sudo -u postgres psql -p "$PG_PORT" -d postgres -c "$sql"
  fi
}

ensure_postgres() {
  if ! pg_ready; then
    command -v pg_ctlcluster >/dev/null || apt_install postgresql
    local version
    version=$(ls /etc/postgresql | sort -V | tail -1)
    log "postgres: starting cluster $version/main"
    need_root "starting PostgreSQL" "pg_ctlcluster $version main start"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    wait_for postgres 30 pg_ready
  else
    log "postgres: running on 127.0.0.1:$PG_PORT"
  fi
  # The tests connect as role 'enrich' (password 'enrich', may create databases).
  if ! PGPASSWORD=enrich psql -h 127.0.0.1 -p "$PG_PORT" -U enrich -d postgres -tAc 'select 1' \
      >/dev/null 2>&1; then
    log "postgres: creating role enrich"
    local sql="CREATE ROLE enrich LOGIN PASSWORD 'enrich' CREATEDB"
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c "$sql" >/dev/null 2>&1 \
      || psql_as_postgres "$sql" >/dev/null
  fi
}

# Headless Chromium and its WebDriver from Debian's packages, for the browser tests (no
# downloads at test time: selenium is pointed at /usr/bin/chromedriver).
ensure_browser() {
  if command -v chromium >/dev/null && [ -x /usr/bin/chromedriver ]; then
    log "browser: $(chromium --version 2>/dev/null | head -1) with /usr/bin/chromedriver"
    return
  fi
  apt_install chromium chromium-driver
}

# Debian's and Ubuntu's python3 make a virtualenv (the Makefile's .venv) only with the venv
# package of its version (python3.11-venv, ...).
ensure_python_venv() {
  local version
  version=$("${PYTHON:-python3}" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  apt_install "python$version-venv"
}

# The reason code (hex) of the CONNACK a server on the MQTT port answers an MQTT 5 CONNECT with:
# 00 accepted, 86/87 a login wanted, 01 a broker without MQTT 5; "none" without a CONNACK in 3 s,
# empty when nothing listens; `mqtt_connack <user> [<password>]` logs in. Over /dev/tcp as for
# Redis: asked before anything is installed, and no password in `ps` (as mosquitto_sub's).
mqtt_connack() {
  (
    exec 2>/dev/null 3<>"/dev/tcp/${ask_host:-127.0.0.1}/$MQTT_PORT" || exit
    export LC_ALL=C  # lengths in bytes
    trap '' PIPE  # a server that closes at the CONNECT's first bytes is still heard
    local id="enrich-services-$$" flags=2 length field n byte answer
    length=$((13 + ${#id}))
    [ $# = 0 ] || { flags=$((flags | 128)); length=$((length + 2 + ${#1})); }
    [ $# != 2 ] || { flags=$((flags | 64)); length=$((length + 2 + ${#2})); }
    hex() { for byte; do printf "\\x$(printf %02x "$byte")"; done; }
    {
      hex 16  # CONNECT, then its length, 7 bits a byte
      for ((n = length; ; )); do
        byte=$((n & 127)) n=$((n >> 7))
        if ((n)); then hex $((byte | 128)); else hex "$byte" && break; fi
      done
      printf '\0\4MQTT\5'; hex "$flags" 0 60 0  # MQTT 5, keep-alive 60 s, no properties
      for field in "$id" "$@"; do hex $((${#field} >> 8)) $((${#field} & 255)); printf %s "$field"; done
    } >&3 || true
    answer=$(timeout 3 od -An -tx1 -N4 <&3) || true
    set -- $answer
    if [ "${1:-}" = 20 ] && [ $# = 4 ]; then echo "$4"; else echo none; fi
    hex 224 0 >&3 || true  # DISCONNECT, if the broker has not closed the connection (a refusal does)
  ) || true
}

mqtt_up() { [ "$(mqtt_connack)" = 00 ]; }

# A broker on the port that wants a login is used when the URL of the tests or processes opens
# it (MQTT_TEST_URL when set, else MQTT_URL as for REDIS_URL), otherwise the script says how.
mqtt_with_login() {
  local name=MQTT_URL url url_user url_password url_host="" url_port
  [ -z "${MQTT_TEST_URL:-}" ] || name=MQTT_TEST_URL
  url=$(env_value $name)
  url_parts "$url"
  if names_another "$url" mqtt 1883 "$MQTT_PORT"; then
    log "mosquitto: the broker on 127.0.0.1:$MQTT_PORT asks for a login; $name names another: left alone"
    return
  fi
  local ask_host=$url_host answer=""  # asked where the processes will ask
  if [ -n "$url_password" ]; then answer=$(mqtt_connack "$url_user" "$url_password")
  elif [ -n "$url_user" ]; then answer=$(mqtt_connack "$url_user"); fi
  if [ "$answer" = 00 ]; then
    log "mosquitto: running on 127.0.0.1:$MQTT_PORT, with a login: $name's opens it"
    return
  fi
  local given="is not set"
  [ -z "$url" ] || given="does not give the right one"
  log "ERROR: the MQTT broker on 127.0.0.1:$MQTT_PORT asks for a login (it refuses an anonymous CONNECT), and $name $given."
  log "       Give its login: MQTT_URL=mqtt://USER:PASSWORD@127.0.0.1:$MQTT_PORT in .env (the tests:"
  log "       MQTT_TEST_URL; %2F, %3A, %40 for / : @), or stop that broker and run this again to start enrich's own."
  exit 1
}

# Debian's Mosquitto on loopback, for Home Assistant discovery (MQTT_URL) and its tests; its
# own config in var/mosquitto/ (no persistence: retained messages live as long as it runs).
# What listens on the port already must answer MQTT (a web server there must not pass for a broker).
ensure_mosquitto() {
  local answer
  answer=$(mqtt_connack)
  case $answer in
    00)
      log "mosquitto: running on 127.0.0.1:$MQTT_PORT"
      return ;;
    86|87)
      mqtt_with_login
      return ;;
    none)
      log "ERROR: 127.0.0.1:$MQTT_PORT answers an MQTT CONNECT with no CONNACK: another server holds the port."
      log "       Stop what listens there, or set ENRICH_MQTT_PORT (and MQTT_URL, MQTT_TEST_URL) to a free port."
      exit 1 ;;
    ?*)
      log "ERROR: the MQTT broker on 127.0.0.1:$MQTT_PORT refuses an MQTT 5 CONNECT (reason $answer; enrich needs"
      log "       MQTT 5). Stop it, or set ENRICH_MQTT_PORT (and MQTT_URL, MQTT_TEST_URL) to a free port."
      exit 1 ;;
  esac
  command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || apt_install_server mosquitto mosquitto
  local bin dir="$VAR/mosquitto"
  bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
  mkdir -p "$dir"
  chmod 700 "$dir"
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$MQTT_PORT" \
    > "$dir/mosquitto.conf"
  log "mosquitto: starting on 127.0.0.1:$MQTT_PORT"
  nohup "$bin" -c "$dir/mosquitto.conf" >>"$VAR/log/mosquitto.log" 2>&1 &
  echo $! > "$dir/mosquitto.pid"
  wait_for mosquitto 15 mqtt_up || { tail -20 "$VAR/log/mosquitto.log" >&2; exit 1; }
}

[ $# -gt 0 ] || set -- redis influxdb
for service in "$@"; do
  case "$service" in
    redis) ensure_redis ;;
    influxdb) ensure_influxdb ;;
    postgres) ensure_postgres ;;
    browser) ensure_browser ;;
    mosquitto) ensure_mosquitto ;;
    python-venv) ensure_python_venv ;;
    *) log "unknown service '$service' (use redis, influxdb, postgres, browser, mosquitto, python-venv)"; exit 2 ;;
  esac
done
