#!/usr/bin/env bash
# make demo: the whole path on one box — a simulated "68" pad on a pty, evaluatord on the
# embedded demo config, an evaluation opened through the API, a press, the stored record.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/debug}
rm -rf .demo && mkdir -p .demo
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

echo "== 1. a simulated pad (address 3) on a pty; it will press key 3 (非常满意) when prompted"
"$BIN/evaluatorctl" simulate --link .demo/pad-bus1 --address 3 --key 3 --delay-ms 700 > .demo/pad.log 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -L .demo/pad-bus1 ] && break; sleep 0.1; done

echo "== 2. evaluatord on the embedded demo config (API on 127.0.0.1:8740, store in .demo/state)"
"$BIN/evaluatord" --demo > .demo/evaluatord.log 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf http://127.0.0.1:8740/healthz >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf http://127.0.0.1:8740/healthz >/dev/null || { echo "evaluatord did not come up:"; cat .demo/evaluatord.log; exit 1; }
# --demo made .demo/tokens (random tokens): the business system's, hall IT's, the screen pad's.
token() { awk -v n="$1" '$1 == n { print $3 }' .demo/tokens; }
AUTH="Authorization: Bearer $(token demo-api)"

echo "== 3. the business system finishes case 2026-SD-000123 at window W01 and asks for a rating"
curl -s -X POST http://127.0.0.1:8740/v1/windows/W01/evaluations \
  -H 'Content-Type: application/json' -H "$AUTH" \
  -d '{"case_id":"2026-SD-000123","matter_code":"370211-BDC-001","matter_name":"不动产登记","staff_id":"S1024"}'
echo

echo "== 4. the pad sees the prompt, the citizen presses, the gateway acknowledges after the commit"
for _ in $(seq 50); do grep -q "ack key" .demo/pad.log && break; sleep 0.1; done
cat .demo/pad.log

echo "== 5. the stored record (evaluatorctl records --demo)"
"$BIN/evaluatorctl" records --demo --limit 5
echo
sqlite3 .demo/state/evaluatord.sqlite "SELECT body FROM record ORDER BY seq DESC LIMIT 1" | python3 -m json.tool --no-ensure-ascii

echo "== 6. status (evaluatorctl status --demo)"
"$BIN/evaluatorctl" status --demo --json | python3 -m json.tool --no-ensure-ascii

echo "== 7. a screen pad (tablet) at window W02: a staff member signs in, a case is finished there"
curl -s -X PUT http://127.0.0.1:8740/v1/windows/W02/staff -H 'Content-Type: application/json' -H "$AUTH" \
  -d '{"staff_id":"S2048","name":"李娜","title":"综合受理岗"}' > /dev/null
curl -s -X POST http://127.0.0.1:8740/v1/windows/W02/evaluations -H 'Content-Type: application/json' -H "$AUTH" \
  -d '{"case_id":"2026-SD-000124","matter_name":"企业开办登记","timeout_s":600}'
echo
echo "   Open the screen pad's page in a browser (the citizen's side; rate it there):"
echo "     http://127.0.0.1:8740/pad/W02?token=$(token T1)"
echo "   The hall status page (every window, the pad's address as a QR code):"
echo "     http://127.0.0.1:8740/ui?token=$(token demo-read)"
echo "== daemon log: .demo/evaluatord.log"
if [ -t 0 ]; then
    read -r -p "evaluatord keeps running for the browser; press Enter to stop it. " _
fi
