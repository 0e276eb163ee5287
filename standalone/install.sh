#!/usr/bin/env bash
# Installs Gantry from this checkout, the way get-higress.sh installs Higress standalone:
#   standalone/install.sh [DIR] [-c file://~/higress/conf] [--gateway-http-port=80]
#                         [--gateway-https-port=443] [--console-port=8080] [-a]
# DIR (default ./gantry) receives bin/gantry, a config dir (unless -c names one; the quick
# start is copied into a new one), bin/{startup,shutdown,status,logs,upgrade}.sh and
# gantry.service (run as user `gantry`, created here when missing and run as root).
set -euo pipefail

usage() {
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'TXT'
Options:
  -c, --config-url=URL        file:///abs/dir, file://~/dir or ./dir (nacos:// is not supported yet)
      --gateway-http-port=N   HTTP port (default 80)
      --gateway-https-port=N  HTTPS port (default 443)
      --console-port=N        admin API port (default 8080)
  -a, --auto-start            start Gantry after installing
  -h, --help                  this text
TXT
}

here=$(cd "$(dirname "$0")/.." && pwd)
dir="$PWD/gantry"
config=""
http=80 https=443 console=8080 auto=0
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then dir=$1; shift; fi
while [ $# -gt 0 ]; do
  case "$1" in
    -c) config=$2; shift ;;
    --config-url=*) config=${1#*=} ;;
    --gateway-http-port=*) http=${1#*=} ;;
    --gateway-https-port=*) https=${1#*=} ;;
    --console-port=*) console=${1#*=} ;;
    -a|--auto-start) auto=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "Unknown option $1" >&2; usage >&2; exit 1 ;;
  esac
  shift
done
for p in "$http" "$https" "$console"; do
  case "$p" in ''|*[!0-9]*) echo "Invalid port: $p" >&2; exit 1 ;; esac
  [ "$p" -le 65535 ] || { echo "Invalid port: $p" >&2; exit 1; }
done

mkdir -p "$dir/bin" "$dir/logs"
dir=$(cd "$dir" && pwd)
if [ -z "$config" ]; then
  config="$dir/conf"
  if [ ! -d "$config" ]; then
    cp -r "$here/conf-samples/quickstart" "$config"
    echo "Config dir $config created from the quick-start sample."
  fi
fi

echo "Building Gantry (release)..."
"$here/standalone/dev-deps.sh"
cargo install --quiet --locked --path "$here/standalone" --root "$dir" --force

args="serve --config $config --http-port $http --https-port $https --console-port $console"
# The scripts keep Gantry's state (upgrade socket) in DIR/data; systemd uses /var/lib/gantry.
run_args="$args --data-dir $dir/data"
listening=""
[ "$http" != 0 ] && listening="$listening
echo \"  http://0.0.0.0:$http\""
[ "$https" != 0 ] && listening="$listening
echo \"  https://0.0.0.0:$https\""
cat > "$dir/bin/startup.sh" <<SH
#!/usr/bin/env bash
# Starts Gantry in the background; logs go to $dir/logs/gantry.log.
cd "$dir" || exit 1
if [ -f run/gantry.pid ] && kill -0 "\$(cat run/gantry.pid)" 2>/dev/null; then
  echo "Gantry is already running (pid \$(cat run/gantry.pid))."; exit 0
fi
mkdir -p run
nohup "$dir/bin/gantry" $run_args >> logs/gantry.log 2>&1 &
echo \$! > run/gantry.pid
echo "Gantry is now started. Check it with $dir/bin/status.sh"
echo
echo "Gantry Gateway is listening on:"$listening
echo "Admin API: http://localhost:$console/gantry/status"
SH
cat > "$dir/bin/shutdown.sh" <<SH
#!/usr/bin/env bash
# Stops Gantry gracefully (SIGTERM): requests in flight finish first (up to 30 s).
pid_file="$dir/run/gantry.pid"
[ -f "\$pid_file" ] && kill "\$(cat "\$pid_file")" 2>/dev/null && rm -f "\$pid_file" && echo "Gantry stopped." || echo "Gantry is not running."
SH
cat > "$dir/bin/upgrade.sh" <<SH
#!/usr/bin/env bash
# Replaces the running Gantry with bin/gantry without refusing a connection: the new process
# takes the listening sockets over (--upgrade), the old one drains and exits.
cd "$dir" || exit 1
old=\$(cat run/gantry.pid 2>/dev/null)
if [ -z "\$old" ] || ! kill -0 "\$old" 2>/dev/null; then echo "Gantry is not running."; exit 1; fi
rm -f data/upgrade.sock
nohup "$dir/bin/gantry" $run_args --upgrade >> logs/gantry.log 2>&1 &
new=\$!
for _ in \$(seq 50); do [ -S data/upgrade.sock ] && break; sleep 0.1; done
[ -S data/upgrade.sock ] || { echo "The new Gantry did not start; see logs/gantry.log"; exit 1; }
kill -QUIT "\$old"
echo "\$new" > run/gantry.pid
echo "Gantry upgraded (pid \$old -> \$new)."
SH
cat > "$dir/bin/status.sh" <<SH
#!/usr/bin/env bash
# Shows whether Gantry runs and its configuration status.
pid_file="$dir/run/gantry.pid"
if [ -f "\$pid_file" ] && kill -0 "\$(cat "\$pid_file")" 2>/dev/null; then
  echo "Gantry is running (pid \$(cat "\$pid_file"))."
  curl -fsS "http://127.0.0.1:$console/gantry/status" 2>/dev/null && echo
else
  echo "Gantry is not running."; exit 1
fi
SH
cat > "$dir/bin/logs.sh" <<SH
#!/usr/bin/env bash
# Follows Gantry's log.
exec tail -n 100 -f "$dir/logs/gantry.log"
SH
sed -e "s#@EXEC@#$dir/bin/gantry $args#" "$here/standalone/gantry.service" > "$dir/gantry.service"
chmod +x "$dir"/bin/*.sh

# The systemd unit runs as user `gantry`: create it (as root), or say how.
if id gantry >/dev/null 2>&1; then
  user_note="User gantry exists; it must be able to read $dir/bin/gantry and $config."
elif [ "$(id -u)" = 0 ] && command -v useradd >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/gantry --no-create-home --shell /usr/sbin/nologin gantry
  user_note="Created system user gantry; it must be able to read $dir/bin/gantry and $config."
else
  user_note="Before enabling the unit: sudo useradd --system --home-dir /var/lib/gantry --no-create-home --shell /usr/sbin/nologin gantry"
fi

cat <<TXT
Gantry is installed in $dir
  Start: $dir/bin/startup.sh     Stop: $dir/bin/shutdown.sh
  Status: $dir/bin/status.sh     Logs: $dir/bin/logs.sh
  Upgrade: $dir/bin/upgrade.sh   (after replacing bin/gantry; no refused connection)
  systemd: sudo cp $dir/gantry.service /etc/systemd/system/ && sudo systemctl enable --now gantry
    ($user_note)
  Config: $config (edit files; changes apply live)
TXT
if [ "$auto" = 1 ]; then "$dir/bin/startup.sh"; fi
