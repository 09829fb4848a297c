# Runs inside the test VM (see run.py): the real evaluatord with a real USB keypad bound by
# ID_PATH (udev), a real FTDI USB-serial "68" bus, and a loopback central store.
BIN=$(cat /vmwork/bin-dir)
W=/vmwork
act() {  # ask the host to do something (press, plug, unplug) and wait until it is done
  touch "$W/want-$1"
  for i in $(seq 600); do [ -f "$W/did-$1" ] && return 0; sleep 0.1; done
  echo "TIMEOUT host action $1"
}
waitfor() {  # wait until file $1 holds pattern $2 ($3 times, default 1)
  for i in $(seq 600); do [ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "${3:-1}" ] && return 0; sleep 0.1; done
  echo "TIMEOUT waiting for '$2' in $1"
}
evaluate() {
  curl -s -X POST "http://127.0.0.1:8740/v1/windows/$1/evaluations" -H 'Content-Type: application/json' -d "{\"case_id\": \"$2\"}"
  echo
}

udevadm settle -t 10
for i in $(seq 100); do [ -e /dev/ttyUSB0 ] && break; sleep 0.2; done
IDP=$(udevadm info -q property /dev/input/by-path/*usb*event-kbd | sed -n 's/^ID_PATH=//p' | head -1)
echo "keypad ID_PATH=$IDP"
python3 "$W/receiver.py" 9000 "$W/received.jsonl" &
cat > /tmp/evaluatord.toml <<TOML
[gateway]
id = "370211-vm-01"
region = "370211"
state_dir = "/tmp/state"

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
"$BIN/evaluatorctl" check-config /tmp/evaluatord.toml
"$BIN/evaluatord" --config /tmp/evaluatord.toml > "$W/daemon.log" 2>&1 &
for i in $(seq 300); do curl -sf http://127.0.0.1:8740/healthz >/dev/null && break; sleep 0.2; done
waitfor "$W/daemon.log" "pad grabbed"
waitfor "$W/daemon.log" "bus attached"

echo "== 1. keypad press rates the case"
evaluate W01 V-1
act press-kp5
waitfor "$W/received.jsonl" '"case_id":"V-1"[^}]*"outcome":"rated"'

echo "== 2. unplug and replug the keypad while an evaluation is open"
evaluate W01 V-2
act unplug
waitfor "$W/daemon.log" "pad detached"
act plug
waitfor "$W/daemon.log" "pad grabbed" 2
act press-kp2
waitfor "$W/received.jsonl" '"case_id":"V-2"[^}]*"outcome":"rated"'

echo "== 3. the serial pad on the FTDI adapter"
evaluate W02 V-3
act serial-press
waitfor "$W/received.jsonl" '"case_id":"V-3"[^}]*"outcome":"rated"'

echo "== 4. a second, unconfigured keypad is listed with its config line"
act plug-second
waitfor "$W/daemon.log" "pad found by udev" 2
sleep 1
"$BIN/evaluatorctl" devices --config /tmp/evaluatord.toml > "$W/devices.txt" 2>&1
cat "$W/devices.txt"
curl -s http://127.0.0.1:8740/v1/status
echo
touch "$W/finished"
