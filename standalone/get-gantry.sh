#!/usr/bin/env bash
# Installs Gantry the way get-higress.sh installs Higress standalone:
#   get-gantry.sh [DIR] [OPTIONS...]
# Install Gantry into the DIR ("./gantry" by default): bin/gantry, the service scripts
# bin/{startup,shutdown,status,logs,configure,reset,upgrade}.sh, gantry.env (settings,
# mode 0600) and gantry.service (a systemd unit with absolute paths).
set -euo pipefail

usage() {
  cat <<'TXT'
Usage: get-gantry.sh [DIR] [OPTIONS...]
Install Gantry (a standalone gateway serving Higress configuration) into the DIR ("./gantry" by default).

Options:
  -c, --config-url=URL          where the configuration is: file:///opt/gantry/conf, file://~/conf,
                                ./conf (relative to the current directory), or nacos://192.168.0.1:8848
                                (default: DIR/conf, seeded like Higress's first start)
      --nacos-ns=NS             Nacos namespace ID (default: higress-system)
      --nacos-username=NAME     Nacos user (with --nacos-password)
      --nacos-password=PASS     Nacos password
  -k, --data-enc-key=KEY        32 characters: encrypts Secrets stored in Nacos, as Higress does
  -p, --console-password=PASS   password of the console user "admin"
      --gateway-http-port=N     gateway HTTP port (default: 80)
      --gateway-https-port=N    gateway HTTPS port (default: 443)
      --gateway-metrics-port=N  Prometheus metrics port (default: 15020)
      --gateway-health-port=N   health port, /readyz (default: 15021)
      --console-port=N          console (admin API) port (default: 8080)
  -a, --auto-start              start Gantry once installed
  -u, --update                  update an existing install: keeps its configuration, backs the old
                                install up next to it, swaps a running gateway without dropping a request
      --binary=PATH             install this gantry binary (instead of downloading a release)
      --from-source             build Gantry from the checkout this script is in (needs cargo)
  -h, --help                    this text
TXT
}

die() {
  echo "$*" >&2
  exit 1
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
checkout=$(cd "$here/.." && pwd)

dir=""
config_url="" nacos_ns="" nacos_user="" nacos_pass="" enc_key="" console_pass=""
http="" https="" metrics="" health="" console=""
auto=0 update=0 binary="" from_source=0 reconfigure=0

if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  dir=$1
  shift
fi

# `--opt=value` or `--opt value`; a missing value is an error naming the option.
need() {
  if [ $# -lt 2 ] || [ -z "$2" ]; then die "Option $1 needs a value."; fi
}
while [ $# -gt 0 ]; do
  opt=$1
  val=""
  case "$opt" in
    --*=*) val=${opt#*=}; opt=${opt%%=*}; shift; set -- "$opt" "$val" "$@" ;;
  esac
  case "$opt" in
    -c|--config-url) need "$@"; config_url=$2; shift ;;
    --nacos-ns) need "$@"; nacos_ns=$2; shift ;;
    --nacos-username) need "$@"; nacos_user=$2; shift ;;
    --nacos-password) need "$@"; nacos_pass=$2; shift ;;
    -k|--data-enc-key) need "$@"; enc_key=$2; shift ;;
    -p|--console-password) need "$@"; console_pass=$2; shift ;;
    --gateway-http-port) need "$@"; http=$2; shift ;;
    --gateway-https-port) need "$@"; https=$2; shift ;;
    --gateway-metrics-port) need "$@"; metrics=$2; shift ;;
    --gateway-health-port) need "$@"; health=$2; shift ;;
    --console-port) need "$@"; console=$2; shift ;;
    --binary) need "$@"; binary=$2; shift ;;
    --from-source) from_source=1 ;;
    -a|--auto-start) auto=1 ;;
    -u|--update) update=1 ;;
    -r|--reconfigure) reconfigure=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "Unknown option $opt" >&2; usage >&2; exit 1 ;;
  esac
  shift
done

# === platform ===
os=$(uname | tr '[:upper:]' '[:lower:]')
case "$os" in mingw*|cygwin*|msys*) os=windows ;; esac
arch=$(uname -m)
case "$arch" in
  aarch64|arm64) arch=arm64 ;;
  x86_64|amd64) arch=amd64 ;;
  armv5*) arch=armv5 ;;
  armv6*) arch=armv6 ;;
  armv7*) arch=arm ;;
  i686|i386|x86) arch=386 ;;
esac
case "$os-$arch" in
  linux-amd64|linux-arm64|darwin-amd64|darwin-arm64) ;;
  *) die "${os}-${arch} platform isn't supported at the moment." ;;
esac

# === install dir and existing install ===
[ -n "$dir" ] || dir="$PWD/gantry"
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
env_file="$dir/gantry.env"
if [ "$update" = 1 ] || [ "$reconfigure" = 1 ]; then
  [ -f "$dir/.configured" ] || die "No Gantry install found in \"$dir\"; install it first (without -u)."
else
  [ -f "$dir/.configured" ] && die "Gantry is already installed in the target folder \"$dir\". Add \"-u\" to update an existed Gantry instance."
fi

# An update keeps the settings; flags given now override them.
if [ "$update" = 1 ] && [ "$reconfigure" = 0 ]; then
  saved() { sed -n "s/^$1='\\(.*\\)'\$/\\1/p" "$env_file" | tail -1; }
  [ -n "$config_url" ] || config_url=$(saved GANTRY_CONFIG_URL)
  [ -n "$nacos_ns" ] || nacos_ns=$(saved GANTRY_NACOS_NS)
  [ -n "$nacos_user" ] || nacos_user=$(saved GANTRY_NACOS_USERNAME)
  [ -n "$nacos_pass" ] || nacos_pass=$(saved GANTRY_NACOS_PASSWORD)
  [ -n "$enc_key" ] || enc_key=$(saved GANTRY_DATA_ENC_KEY)
  [ -n "$console_pass" ] || console_pass=$(saved GANTRY_CONSOLE_PASSWORD)
  [ -n "$http" ] || http=$(saved GANTRY_HTTP_PORT)
  [ -n "$https" ] || https=$(saved GANTRY_HTTPS_PORT)
  [ -n "$metrics" ] || metrics=$(saved GANTRY_METRICS_PORT)
  [ -n "$health" ] || health=$(saved GANTRY_HEALTH_PORT)
  [ -n "$console" ] || console=$(saved GANTRY_CONSOLE_PORT)
fi
http=${http:-80} https=${https:-443} metrics=${metrics:-15020} health=${health:-15021} console=${console:-8080}

# === ports ===
for pair in "--gateway-http-port:$http" "--gateway-https-port:$https" "--gateway-metrics-port:$metrics" \
            "--gateway-health-port:$health" "--console-port:$console"; do
  flag=${pair%%:*} port=${pair#*:}
  case "$port" in ''|*[!0-9]*) die "Invalid port for $flag: \"$port\" (expecting 0..65535)." ;; esac
  [ "$port" -le 65535 ] || die "Invalid port for $flag: \"$port\" (expecting 0..65535)."
done
seen=""
for pair in "--gateway-http-port:$http" "--gateway-https-port:$https" "--gateway-metrics-port:$metrics" \
            "--gateway-health-port:$health" "--console-port:$console"; do
  flag=${pair%%:*} port=${pair#*:}
  [ "$port" = 0 ] && continue
  for other in $seen; do
    [ "${other#*:}" = "$port" ] && die "$flag and ${other%%:*} are both $port; give one of them another port."
  done
  seen="$seen $flag:$port"
done
# Something accepting connections on 127.0.0.1:port.
port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
running_pid() {
  local pid
  pid=$(cat "$dir/run/gantry.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}
if ! running_pid >/dev/null; then
  for pair in $seen; do
    port_busy "${pair#*:}" && die "Port ${pair#*:} (${pair%%:*}) is already in use; stop what listens there or pick another port with ${pair%%:*}."
  done
fi

# === config location (resolved as Higress's configure.sh does) ===
nacos=""
if [ -z "$config_url" ]; then
  config="$dir/conf"
  config_url="file://$config"
else
  case "$config_url" in
    nacos://*)
      hostport=${config_url#nacos://}
      hostport=${hostport%%/*}
      host=${hostport%:*} port=${hostport##*:}
      case "$port" in ''|*[!0-9]*) die "Invalid config service URL: $config_url (expecting nacos://host:port)." ;; esac
      if [ -z "$host" ] || [ "$host" = "$hostport" ]; then
        die "Invalid config service URL: $config_url (expecting nacos://host:port)."
      fi
      if [ -n "$nacos_user$nacos_pass" ] && { [ -z "$nacos_user" ] || [ -z "$nacos_pass" ]; }; then
        die "Both Nacos username and password shall be provided."
      fi
      if ! timeout 5 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null; then
        die "Nacos at $host:$port is unreachable (nothing answers on that port); check the URL, or start Nacos first."
      fi
      nacos=1
      config=$config_url
      ;;
    file://*|.*|/*|~*)
      path=${config_url#file://}
      path=${path//\\//}
      # A literal leading ~ (as in file://~/higress/conf) means the caller's home.
      # shellcheck disable=SC2088
      case "$path" in
        "~") path=$HOME ;;
        "~/"*) path="$HOME/${path:2}" ;;
        .*|/*) ;;
        *) die "Invalid file URL. Relative path must begin with a \".\". Absolute path must begin with a \"/\" or \"~/\"." ;;
      esac
      mkdir -p "$path" || die "Cannot create the config folder $path."
      config=$(cd "$path" && pwd)
      config_url="file://$config"
      ;;
    *) die "Invalid config service URL: $config_url" ;;
  esac
fi
if [ -n "$enc_key" ] && [ ${#enc_key} -ne 32 ]; then
  die "Expecting 32 characters for --data-enc-key, but got ${#enc_key}."
fi
for v in "$config" "$nacos_ns" "$nacos_user" "$nacos_pass" "$enc_key" "$console_pass"; do
  case "$v" in *"'"*|*$'\n'*) die "Values with a single quote or a newline are not supported: use another password or path." ;; esac
done

# === the binary ===
tmp=$(mktemp -d -t gantry-installer-XXXXXX)
on_exit() {
  local rc=$?
  rm -rf "$tmp"
  if [ "$rc" -ne 0 ]; then echo "Failed to install Gantry" >&2; fi
}
trap on_exit EXIT
if [ -n "$binary" ]; then
  if [ ! -f "$binary" ] || [ ! -x "$binary" ]; then die "--binary $binary is not an executable file."; fi
  cp "$binary" "$tmp/gantry"
elif [ "$from_source" = 1 ]; then
  [ -f "$checkout/standalone/Cargo.toml" ] || die "--from-source: $checkout is not a Gantry checkout."
  command -v cargo >/dev/null 2>&1 || die "--from-source needs cargo (https://rustup.rs)."
  echo "Building Gantry (release)..."
  if [ -x "$checkout/standalone/dev-deps.sh" ]; then "$checkout/standalone/dev-deps.sh"; fi
  cargo install --quiet --locked --path "$checkout/standalone" --root "$tmp/build" --force
  cp "$tmp/build/bin/gantry" "$tmp/gantry"
else
  die "Gantry has no published release to download yet: pass --binary PATH (a built gantry) or --from-source (build from this checkout)."
fi
"$tmp/gantry" --version >/dev/null 2>&1 || die "The gantry binary does not run on this machine ($os-$arch)."

# === back up (update), then install ===
if [ "$update" = 1 ]; then
  backup="$(dirname "$dir")/gantry_backup_$(date +%Y%m%d%H%M%S).tar.gz"
  # A running gateway keeps writing its logs: GNU tar then warns "file changed as we read
  # it" and exits 1 with the archive complete (the log as far as it was read); 2 is fatal.
  tar_quiet=""
  tar --version 2>/dev/null | grep -q "GNU tar" && tar_quiet="--warning=no-file-changed"
  tar_rc=0
  # shellcheck disable=SC2086
  tar -czf "$backup" $tar_quiet -C "$(dirname "$dir")" --exclude "$(basename "$dir")/run" "$(basename "$dir")" || tar_rc=$?
  if [ "$tar_rc" -ne 0 ] && { [ -z "$tar_quiet" ] || [ "$tar_rc" -ne 1 ]; }; then
    die "Could not back up $dir to $backup (tar exited $tar_rc); nothing was changed."
  fi
  echo "The current version is packed here: $backup"
fi
mkdir -p "$dir/bin" "$dir/logs" "$dir/run" "$dir/data"
chmod 700 "$dir/data"
if [ "$update" = 1 ] && running_pid >/dev/null; then
  # The running process keeps its (old) file; upgrade.sh swaps to the new one below.
  mv "$tmp/gantry" "$dir/bin/gantry.new" && mv -f "$dir/bin/gantry.new" "$dir/bin/gantry"
else
  mv -f "$tmp/gantry" "$dir/bin/gantry"
fi

# Settings: one file the scripts and the systemd unit read. Single-quoted for both.
if [ "$update" = 0 ] || [ "$reconfigure" = 1 ] || [ ! -f "$env_file" ]; then
  umask 077
  {
    echo "# Gantry settings written by get-gantry.sh; bin/configure.sh -r rewrites them."
    echo "GANTRY_CONFIG_URL='$config_url'"
    echo "GANTRY_CONFIG='$config'"
    echo "GANTRY_HTTP_PORT='$http'"
    echo "GANTRY_HTTPS_PORT='$https'"
    echo "GANTRY_METRICS_PORT='$metrics'"
    echo "GANTRY_HEALTH_PORT='$health'"
    echo "GANTRY_CONSOLE_PORT='$console'"
    [ -n "$nacos_ns" ] && echo "GANTRY_NACOS_NS='$nacos_ns'"
    [ -n "$nacos_user" ] && echo "GANTRY_NACOS_USERNAME='$nacos_user'"
    [ -n "$nacos_pass" ] && echo "GANTRY_NACOS_PASSWORD='$nacos_pass'"
    [ -n "$enc_key" ] && echo "GANTRY_DATA_ENC_KEY='$enc_key'"
    [ -n "$console_pass" ] && echo "GANTRY_CONSOLE_PASSWORD='$console_pass'"
  } > "$env_file"
  umask 022
fi

# Seed the store as Higress's first start does (never overwriting).
# shellcheck disable=SC1090
init_out=$(set -a && . "$env_file" && "$dir/bin/gantry" init --config "$config" --console-port "$console" 2>&1) \
  || die "Cannot initialize the configuration in $config:
$init_out"

# configure.sh re-runs this script from the install, with the unit template beside it.
template="$here/gantry.service"
[ -f "$template" ] || template="$here/.gantry.service.in"
[ -f "$template" ] || die "The systemd unit template gantry.service is missing next to $0."
self="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
[ "$self" = "$dir/bin/.get-gantry.sh" ] || cp "$self" "$dir/bin/.get-gantry.sh"
[ "$template" = "$dir/bin/.gantry.service.in" ] || cp "$template" "$dir/bin/.gantry.service.in"
write_script() {
  cat > "$dir/bin/$1"
  chmod +x "$dir/bin/$1"
}

# The command line; secrets and ports come from gantry.env.
# shellcheck disable=SC2016
serve='serve --config "$GANTRY_CONFIG" --http-port "$GANTRY_HTTP_PORT" --https-port "$GANTRY_HTTPS_PORT" --console-port "$GANTRY_CONSOLE_PORT" --metrics-port "$GANTRY_METRICS_PORT" --health-port "$GANTRY_HEALTH_PORT"'

write_script base.sh <<SH
#!/usr/bin/env bash
# Shared by the service scripts: settings, the pid of a running gantry, readiness.
# shellcheck disable=SC2034
ROOT="$dir"
set -a
# shellcheck disable=SC1091
. "\$ROOT/gantry.env"
# The scripts keep Gantry's state in DIR/data; the systemd unit uses /var/lib/gantry.
GANTRY_DATA_DIR="\${GANTRY_DATA_DIR:-\$ROOT/data}"
set +a
PID_FILE="\$ROOT/run/gantry.pid"

# The pid of the running gantry (it must still be this install's binary), or nothing.
gantry_pid() {
  local pid
  pid=\$(cat "\$PID_FILE" 2>/dev/null) || return 1
  [ -n "\$pid" ] && kill -0 "\$pid" 2>/dev/null || return 1
  if [ -r "/proc/\$pid/cmdline" ]; then
    tr '\\0' ' ' < "/proc/\$pid/cmdline" | grep -q "\$ROOT/bin/gantry" || return 1
  fi
  echo "\$pid"
}

# HTTP status of GET path on 127.0.0.1:port (000 when nothing answers).
http_status() {
  local port=\$1 path=\$2 line
  if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:\$port\$path" || true
    return
  fi
  exec 3<>"/dev/tcp/127.0.0.1/\$port" 2>/dev/null || { echo 000; return; }
  printf 'GET %s HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' "\$path" >&3
  read -r -t 2 line <&3 || line=""
  exec 3>&-
  line=\${line#* }
  echo "\${line%% *}"
}

# Something accepts TCP connections on 127.0.0.1:port.
accepting() {
  (exec 3<>"/dev/tcp/127.0.0.1/\$1") 2>/dev/null
}

# Waits up to \$2 seconds until pid \$1 is ready (/readyz 200); fails if it exits first.
wait_ready() {
  local pid=\$1 deadline=\$((SECONDS + \$2))
  while [ \$SECONDS -lt \$deadline ]; do
    kill -0 "\$pid" 2>/dev/null || return 1
    if [ "\$GANTRY_HEALTH_PORT" = 0 ]; then
      [ "\$GANTRY_HTTP_PORT" = 0 ] || accepting "\$GANTRY_HTTP_PORT" && return 0
    elif [ "\$(http_status "\$GANTRY_HEALTH_PORT" /readyz)" = 200 ]; then
      return 0
    fi
    sleep 0.2
  done
  return 1
}

listening_urls() {
  [ "\$GANTRY_HTTP_PORT" = 0 ] || echo "  http://0.0.0.0:\$GANTRY_HTTP_PORT"
  [ "\$GANTRY_HTTPS_PORT" = 0 ] || echo "  https://0.0.0.0:\$GANTRY_HTTPS_PORT"
}
SH

write_script startup.sh <<SH
#!/usr/bin/env bash
# Starts Gantry in the background and waits until it is ready. The access log (stdout) goes
# to logs/access.log, the gateway's own log (stderr) to logs/gantry.log.
# shellcheck disable=SC1091
. "$dir/bin/base.sh"
if pid=\$(gantry_pid); then
  echo "Gantry is already running (pid \$pid)."
  exit 0
fi
cd "\$ROOT" || exit 1
mkdir -p run logs
# shellcheck disable=SC2086
nohup "\$ROOT/bin/gantry" $serve >> logs/access.log 2>> logs/gantry.log < /dev/null &
pid=\$!
echo "\$pid" > "\$PID_FILE"
if ! wait_ready "\$pid" 60; then
  if kill -0 "\$pid" 2>/dev/null; then
    echo "  Starting Gantry fails: not ready after 60 s (still running as pid \$pid); see \$ROOT/bin/logs.sh" >&2
  else
    rm -f "\$PID_FILE"
    echo "  Starting Gantry fails: it exited. Last log lines:" >&2
    tail -n 20 logs/gantry.log >&2
  fi
  exit 1
fi
echo "Gantry is now started. You can check out its status by executing \$ROOT/bin/status.sh"
echo
echo "Gantry Gateway is listening on:"
listening_urls
if [ "\$GANTRY_CONSOLE_PORT" != 0 ]; then
  echo "Visit Gantry Console: http://localhost:\$GANTRY_CONSOLE_PORT/"
fi
SH

write_script shutdown.sh <<SH
#!/usr/bin/env bash
# Stops Gantry gracefully (SIGTERM): requests in flight finish first (up to 30 s).
# shellcheck disable=SC1091
. "$dir/bin/base.sh"
if ! pid=\$(gantry_pid); then
  rm -f "\$PID_FILE"
  echo "Gantry is not running."
  exit 0
fi
kill -TERM "\$pid"
for _ in \$(seq 400); do
  kill -0 "\$pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "\$pid" 2>/dev/null; then
  echo "Gantry (pid \$pid) did not stop within 40 s; killing it." >&2
  kill -KILL "\$pid" 2>/dev/null || true
fi
rm -f "\$PID_FILE"
echo "Gantry is stopped."
SH

write_script status.sh <<SH
#!/usr/bin/env bash
# The truth about Gantry: running (the process), listening (its ports accept), ready
# (/readyz). Exit 0 only when all three hold.
# shellcheck disable=SC1091
. "$dir/bin/base.sh"
if ! pid=\$(gantry_pid); then
  if [ -f "\$PID_FILE" ]; then
    echo "Gantry is not running: it exited (see \$ROOT/bin/logs.sh)."
  else
    echo "Gantry is not running."
  fi
  exit 3
fi
echo "Gantry is running (pid \$pid)."
rc=0
for port in "\$GANTRY_HTTP_PORT" "\$GANTRY_HTTPS_PORT"; do
  [ "\$port" = 0 ] && continue
  if accepting "\$port"; then echo "  listening: port \$port"; else echo "  not listening: port \$port"; rc=1; fi
done
if [ "\$GANTRY_HEALTH_PORT" != 0 ]; then
  code=\$(http_status "\$GANTRY_HEALTH_PORT" /readyz)
  if [ "\$code" = 200 ]; then echo "  ready"; else echo "  not ready (/readyz: \$code)"; rc=1; fi
fi
exit \$rc
SH

write_script logs.sh <<SH
#!/usr/bin/env bash
# Shows Gantry's log (\`logs.sh access\` shows the access log); -f follows it.
# shellcheck disable=SC1091
. "$dir/bin/base.sh"
file="\$ROOT/logs/gantry.log"
if [ "\${1:-}" = access ]; then file="\$ROOT/logs/access.log"; shift; fi
if [ "\${1:-}" = -f ]; then exec tail -n 100 -f "\$file"; fi
exec tail -n 100 "\$file"
SH

write_script configure.sh <<SH
#!/usr/bin/env bash
# Re-runs the configuration: \`configure.sh -r [OPTIONS...]\` (the options of get-gantry.sh).
# The binary stays; restart Gantry to use the new settings.
if [ "\${1:-}" != -r ] && [ "\${1:-}" != --rerun ]; then
  echo "Gantry is already configured. Please add \"-r\" if you want to re-run the configuration workflow." >&2
  exit 1
fi
shift
exec bash "$dir/bin/.get-gantry.sh" "$dir" --reconfigure --binary "$dir/bin/gantry" "\$@"
SH

write_script reset.sh <<SH
#!/usr/bin/env bash
# Stops Gantry and forgets the install's state (saved snapshot, settings marker). The config
# folder and Nacos data are left alone; run configure.sh -r (or get-gantry.sh) again.
"$dir/bin/shutdown.sh"
rm -rf "$dir/data" "$dir/run"
rm -f "$dir/.configured"
echo "Gantry is reset."
SH

write_script upgrade.sh <<SH
#!/usr/bin/env bash
# Replaces the running Gantry with bin/gantry without refusing a connection or failing a
# request: the new process takes the listening sockets over (--upgrade), the old one drains
# and exits.
# shellcheck disable=SC1091
. "$dir/bin/base.sh"
cd "\$ROOT" || exit 1
if ! old=\$(gantry_pid); then
  echo "Gantry is not running; start it with \$ROOT/bin/startup.sh"
  exit 1
fi
sock="\$GANTRY_DATA_DIR/upgrade.sock"
rm -f "\$sock"
# shellcheck disable=SC2086
nohup "\$ROOT/bin/gantry" $serve --upgrade >> logs/access.log 2>> logs/gantry.log < /dev/null &
new=\$!
for _ in \$(seq 100); do
  [ -S "\$sock" ] && break
  kill -0 "\$new" 2>/dev/null || break
  sleep 0.1
done
if [ ! -S "\$sock" ]; then
  kill "\$new" 2>/dev/null || true
  echo "The new Gantry did not start; the old one (pid \$old) keeps serving. See logs/gantry.log" >&2
  exit 1
fi
kill -QUIT "\$old"
echo "\$new" > "\$PID_FILE"
if ! wait_ready "\$new" 60; then
  echo "The new Gantry (pid \$new) is not ready; see logs/gantry.log" >&2
  exit 1
fi
for _ in \$(seq 400); do
  kill -0 "\$old" 2>/dev/null || break
  sleep 0.1
done
echo "Gantry upgraded (pid \$old -> \$new)."
SH

exec_line="$dir/bin/gantry serve --config $config --http-port $http --https-port $https --console-port $console --metrics-port $metrics --health-port $health"
sed -e "s#@EXEC@#$exec_line#" -e "s#@ENVFILE@#$env_file#" "$template" > "$dir/gantry.service"

# The systemd unit runs as user `gantry`: create it (as root), or say how.
if id gantry >/dev/null 2>&1; then
  user_note="User gantry exists; it must be able to read $dir/bin/gantry and the config."
elif [ "$(id -u)" = 0 ] && command -v useradd >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/gantry --no-create-home --shell /usr/sbin/nologin gantry
  user_note="Created system user gantry; it must be able to read $dir/bin/gantry and the config."
else
  user_note="Before enabling the unit: sudo useradd --system --home-dir /var/lib/gantry --no-create-home --shell /usr/sbin/nologin gantry"
fi
touch "$dir/.configured"

if [ "$update" = 1 ]; then
  echo "Gantry is updated successfully."
  if running_pid >/dev/null; then
    "$dir/bin/upgrade.sh"
  fi
  exit 0
fi

cat <<TXT
Gantry is configured successfully.
TXT
if [ -n "$nacos" ] && [ -n "$enc_key" ]; then
  cat <<TXT

Important Notes:
  Sensitive configurations are encrypted when saving to Nacos.
  When configuring another server with the same Nacos configuration service, please make sure to add the following argument so all servers use the same encryption key:
    --data-enc-key='$enc_key'
TXT
fi
cat <<TXT

Usage:
  Start: $dir/bin/startup.sh
  Stop: $dir/bin/shutdown.sh
  View Component Statuses: $dir/bin/status.sh
  View Logs: $dir/bin/logs.sh
  Re-configure: $dir/bin/configure.sh -r
  Upgrade (after replacing bin/gantry, no request lost): $dir/bin/upgrade.sh
  systemd: sudo cp $dir/gantry.service /etc/systemd/system/ && sudo systemctl enable --now gantry
    ($user_note)
  Config: $config

Happy Gantry-ing!
TXT
if [ "$auto" = 1 ]; then
  echo "Starting Gantry..."
  "$dir/bin/startup.sh"
fi
