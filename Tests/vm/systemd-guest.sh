# Runs inside the test VM under systemd as PID 1 (see run_systemd.py): the Debian package
# installed as an operator would, the hardened unit started, a USB keypad plugged in only
# after the start, a serial pad on the FTDI adapter, reload, a second keyboard the service
# must not be able to open, stop. Each check appends PASS/FAIL to /vmwork/results.txt.
W=/vmwork
PY=/usr/bin/python3
act() {  # ask the host to do something and wait until it is done
  touch "$W/want-$1"
  for i in $(seq 600); do [ -f "$W/did-$1" ] && return 0; sleep 0.1; done
  echo "TIMEOUT host action $1"
}
journal() { journalctl -u evaluatord --no-pager -o cat; }
waitlog() {  # wait until the unit's journal holds $1 ($2 times, default 1)
  for i in $(seq 300); do [ "$(journal | grep -c -- "$1")" -ge "${2:-1}" ] && return 0; sleep 0.2; done
  echo "TIMEOUT waiting for '$1' in the journal"; return 1
}
waitfile() {
  for i in $(seq 300); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.2; done
  echo "TIMEOUT waiting for '$2' in $1"; return 1
}
check() {  # check NAME COMMAND...
  name=$1; shift
  if "$@"; then echo "PASS $name" >> "$W/results.txt"; else echo "FAIL $name" >> "$W/results.txt"; fi
}
evaluate() {
  curl -s -X POST "http://127.0.0.1:8740/v1/windows/$1/evaluations" -H 'Content-Type: application/json' -d "{\"case_id\": \"$2\"}"
  echo
}

udevadm settle -t 10
for i in $(seq 100); do [ -e /dev/ttyUSB0 ] && break; sleep 0.2; done

echo "== install the package"
dpkg -i "$W/evaluatord.deb" > "$W/dpkg.log" 2>&1
check "dpkg -i installs the package" grep -q "Setting up evaluatord" "$W/dpkg.log"
check "the package created the service user (dialout, not input)" sh -c 'id -nG evaluatord | grep -qw dialout && ! id -nG evaluatord | grep -qw input'
check "the package enabled the unit" systemctl is-enabled --quiet evaluatord

# The keypad will be plugged into xHCI port 1 after the start: its physical port is known now.
XHCI=$(basename "$(readlink -f /sys/bus/pci/drivers/xhci_hcd/0000:* | head -1)")
IDP="pci-$XHCI-usb-0:1:1.0"
echo "keypad ID_PATH will be $IDP"
$PY "$W/receiver.py" 9000 "$W/received.jsonl" &
cat > /etc/evaluatord/evaluatord.toml <<TOML
[gateway]
id = "370211-vm-systemd"
region = "370211"

[session]
timeout_s = 120

[[bus]]
id = "bus1"
port = "/dev/ttyUSB0"

[[window]]
id = "W01"
department = "自然资源局"
pad = { match = { id_path = "$IDP" }, keymap = "keypad-5", grab = "require" }

[[window]]
id = "W02"
department = "市场监督管理局"
pad = { bus = "bus1", address = 3 }

[uplink]
url = "http://127.0.0.1:9000/ratings"
flush_interval_ms = 200
TOML
evaluatorctl udev-rules --install --config /etc/evaluatord/evaluatord.toml > "$W/udev-rules.out" 2>&1
cat /etc/udev/rules.d/70-evaluatord-pads.rules
systemctl restart evaluatord
check "systemctl start: READY reached under the hardened unit" systemctl is-active --quiet evaluatord
for i in $(seq 100); do curl -sf http://127.0.0.1:8740/healthz >/dev/null && break; sleep 0.2; done
started=$(date +%s)
waitlog "bus attached"

echo "== a keypad plugged in after the start"
act plug-pad
waitlog "pad found by udev"
waitlog "pad grabbed"
PADNODE=$(udevadm info -q name /dev/input/by-path/*usb-0:1:1.0-event-kbd 2>/dev/null | head -1)
echo "pad node: /dev/$PADNODE owner $(stat -c %U /dev/$PADNODE)"
check "the udev rule gives the pad's node to evaluatord" test "$(stat -c %U /dev/$PADNODE)" = evaluatord
evaluate W01 V-1
act press-kp5
check "a keypad plugged in after the start is read under the hardening (V-1)" waitfile "$W/received.jsonl" '"case_id":"V-1"[^}]*"outcome":"rated"'

echo "== the serial pad"
evaluate W02 V-2
act serial-press
check "a serial pad press is prompted, acked and rated (V-2)" waitfile "$W/received.jsonl" '"case_id":"V-2"[^}]*"outcome":"rated"'

echo "== a second keyboard: not the service's"
act plug-second
udevadm settle -t 10
# Wait for its node: an empty name made the check below open /dev/ itself (seen in CI).
for i in $(seq 100); do
  OTHER=$(udevadm info -q name /dev/input/by-path/*usb-0:3:1.0-event-kbd 2>/dev/null | head -1)
  [ -n "$OTHER" ] && break; sleep 0.2
done
echo "second keyboard: /dev/$OTHER owner $(stat -c %U:%G /dev/$OTHER)"
check "the service user cannot open a second keyboard's node" sh -c "test -n '$OTHER' && ! setpriv --reuid=evaluatord --regid=evaluatord --init-groups dd if=/dev/$OTHER of=/dev/null count=0 2>/dev/null"
check "the service user can open the pad's node" setpriv --reuid=evaluatord --regid=evaluatord --init-groups dd if=/dev/$PADNODE of=/dev/null count=0

echo "== reload"
systemctl reload evaluatord
check "systemctl reload succeeds (evaluatorctl reload, unchanged file)" waitlog "configuration reloaded"
cp /etc/evaluatord/evaluatord.toml /tmp/good.toml
sed -i 's|^region = .*|region = "370212"|' /etc/evaluatord/evaluatord.toml
check "systemctl reload fails on a change that needs a restart" sh -c '! systemctl reload evaluatord'
check "the refusal is in the journal and the daemon runs on" sh -c 'journalctl -u evaluatord --no-pager -o cat | grep -q "reload refused" && systemctl is-active --quiet evaluatord'
cp /tmp/good.toml /etc/evaluatord/evaluatord.toml

echo "== tokens and the admin token (issue 20)"
export APITOKEN=queue-0123456789abcdefghijklmnopqrstuvwxyz
printf 'queue api %s\n' "$APITOKEN" > /etc/evaluatord/tokens
chown root:evaluatord /etc/evaluatord/tokens && chmod 0640 /etc/evaluatord/tokens
printf '\n[api]\ntokens_file = "/etc/evaluatord/tokens"\n' >> /etc/evaluatord/evaluatord.toml
# The package again: its postinst makes the admin token file (it did nothing without tokens).
check "without a tokens file the postinst made no admin token" test ! -e /etc/evaluatord/admin.token
dpkg -i "$W/evaluatord.deb" > "$W/dpkg2.log" 2>&1
check "with a tokens file the postinst makes /etc/evaluatord/admin.token 0600 root" sh -c 'test "$(stat -c %a:%U /etc/evaluatord/admin.token)" = 600:root'
check "the operator's tokens file is not edited" sh -c 'test "$(cat /etc/evaluatord/tokens)" = "queue api $APITOKEN"'
for i in $(seq 150); do systemctl is-active --quiet evaluatord && curl -sf http://127.0.0.1:8740/healthz >/dev/null && break; sleep 0.2; done
sleep 1
curl -s -X POST -H "Authorization: Bearer $APITOKEN" -H 'Content-Type: application/json' -d '{}' http://127.0.0.1:8740/v1/reload; echo
check "an api token may not reload (403)" sh -c "test \"\$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Authorization: Bearer $APITOKEN' -H 'Content-Type: application/json' -d '{}' http://127.0.0.1:8740/v1/reload)\" = 403"
systemctl reload evaluatord
check "systemctl reload with tokens: ExecReload= takes the admin token from the unit's credential" waitlog "configuration reloaded" 2
check "the reload is an audit record naming admin" sh -c 'evaluatorctl records --config /etc/evaluatord/evaluatord.toml --json 2>/dev/null | grep -q "admin: reload"'

echo "== watchdog and status"
while [ $(( $(date +%s) - started )) -lt 40 ]; do sleep 1; done
systemctl show evaluatord -p NRestarts -p WatchdogTimestampMonotonic -p StatusText -p ActiveState
check "watchdog pets arrive and nothing restarted in 40 s (WatchdogSec=30)" sh -c \
  'test "$(systemctl show evaluatord -p NRestarts --value)" = 0 && test "$(systemctl show evaluatord -p WatchdogTimestampMonotonic --value)" != 0'
check "STATUS= shows pads and backlog" sh -c 'systemctl show evaluatord -p StatusText --value | grep -q "pads attached, backlog"'
systemd-analyze security evaluatord --no-pager | tail -1 | tee "$W/security.txt"
journal | grep -E "PRIORITY|starting" | head -3
check "journald has the structured fields (WINDOW=, CASE_ID=)" sh -c 'journalctl -u evaluatord --no-pager WINDOW=W01 -o cat | grep -q "record stored"'

echo "== stop"
systemctl stop evaluatord
check "systemctl stop: a clean exit and a stop line" sh -c \
  'test "$(systemctl show evaluatord -p ExecMainStatus --value)" = 0 && journalctl -u evaluatord --no-pager -o cat | grep -q "evaluatord stopped"'
journal > "$W/journal.txt"
touch "$W/finished"
