#!/usr/bin/env python3
"""make faults: kill -9 the real evaluatord at random moments while presses stream in over a
pty and the uplink drains to a loopback receiver. After every round the store must pass
PRAGMA integrity_check; at the end every acknowledged press must be in the store and at the
receiver, each record exactly once (the receiver, like a real central store, recognises a
re-sent batch by its Idempotency-Key). Prints a summary line with the counts."""
import http.server, json, os, random, select, shutil, signal, socketserver, sqlite3, subprocess, sys, tempfile, threading, time, urllib.request

bin_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/debug")
rounds = int(os.environ.get("FAULT_ROUNDS", "200"))
rng = random.Random(int(os.environ.get("FAULT_SEED", "68")))
work = tempfile.mkdtemp(prefix="evaluatord-faults-")
API = 18741

# --- the receiver -------------------------------------------------------------------------
lock = threading.Lock()
keys_seen, received = set(), []          # record ids accepted, in order, deduplicated by key
raw_posts = [0]

class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        key = self.headers.get("Idempotency-Key", "")
        with lock:
            raw_posts[0] += 1
            if key not in keys_seen:
                keys_seen.add(key)
                received.extend(r["record_id"] for r in json.loads(body)["records"])
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass

class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

srv = Server(("127.0.0.1", 0), Receiver)
threading.Thread(target=srv.serve_forever, daemon=True).start()

config = f"""
[gateway]
id = "370211-faults"
region = "370211"
state_dir = "{work}/state"
[api]
listen = "127.0.0.1:{API}"
[session]
timeout_s = 60
[[bus]]
id = "bus1"
port = "{work}/pad"
[[window]]
id = "W01"
department = "faults"
pad = {{ bus = "bus1", address = 3 }}
[uplink]
url = "http://127.0.0.1:{srv.server_address[1]}/ratings"
batch_max = 20
flush_interval_ms = 50
backoff_initial_ms = 20
backoff_max_ms = 200
"""
open(f"{work}/evaluatord.toml", "w").write(config)

def frame(addr, f, data):
    body = bytes([addr, f]) + bytes(data)
    return bytes([0xFF, 0x68, len(body), len(body), 0x68]) + body + bytes([sum(body) % 256, 0x16])

def api(method, path, body=None, timeout=2):
    req = urllib.request.Request(f"http://127.0.0.1:{API}{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, json.loads(r.read() or b"{}")

sent = acked = 0
acked_cases = []
integrity = []
case_no = 0
last_key = 0
for rnd in range(rounds):
    master, slave = os.openpty()
    import tty; tty.setraw(slave)
    if os.path.lexists(f"{work}/pad"): os.unlink(f"{work}/pad")
    os.symlink(os.ttyname(slave), f"{work}/pad")
    proc = subprocess.Popen([f"{bin_dir}/evaluatord", "--config", f"{work}/evaluatord.toml", "--log-level", "error"],
                            stdout=subprocess.DEVNULL, stderr=open(f"{work}/daemon.log", "ab"))
    ready = False
    for _ in range(200):
        try:
            api("GET", "/healthz"); ready = True; break
        except Exception:
            time.sleep(0.02)
    kill_at = time.time() + rng.uniform(0.05, 1.2)
    buf = b""
    while ready and time.time() < kill_at:
        case_no += 1
        case = f"K-{case_no}"
        try:
            status, _ = api("POST", "/v1/windows/W01/evaluations", {"case_id": case}, timeout=1)
        except Exception:
            break
        # A different key from the last press: the same key within retransmit_window_ms is, by
        # design, a retransmit of that press (acked again, counted once).
        key = (last_key + 1 + rng.randrange(3)) % 4
        last_key = key
        press = frame(3, 0x11, [key])
        os.write(master, press); sent += 1
        want = frame(3, 0x01, [key])
        deadline = time.time() + 0.5
        got = False
        while time.time() < deadline and time.time() < kill_at + 0.05:
            r, _, _ = select.select([master], [], [], 0.05)
            if r:
                try:
                    buf += os.read(master, 256)
                except OSError:
                    break
                if want in buf:
                    buf = buf.split(want, 1)[1]; got = True; break
        if got:
            acked += 1; acked_cases.append(case)
    proc.send_signal(signal.SIGKILL); proc.wait()
    os.close(master); os.close(slave)
    db = sqlite3.connect(f"{work}/state/evaluatord.sqlite")
    integrity.append(db.execute("PRAGMA integrity_check").fetchone()[0])
    db.close()

# Final run: let the uplink drain everything.
master, slave = os.openpty()
os.unlink(f"{work}/pad"); os.symlink(os.ttyname(slave), f"{work}/pad")
proc = subprocess.Popen([f"{bin_dir}/evaluatord", "--config", f"{work}/evaluatord.toml", "--log-level", "error"],
                        stdout=subprocess.DEVNULL, stderr=open(f"{work}/daemon.log", "ab"))
deadline = time.time() + 60
backlog = None
while time.time() < deadline:
    try:
        backlog = api("GET", "/v1/status")[1]["backlog"]
        if backlog == 0: break
    except Exception:
        pass
    time.sleep(0.2)
proc.send_signal(signal.SIGTERM); proc.wait()

db = sqlite3.connect(f"{work}/state/evaluatord.sqlite")
rated = {row[0]: row[1] for row in db.execute("SELECT case_id, record_id FROM record WHERE outcome = 'rated'")}
stored = db.execute("SELECT COUNT(*) FROM record").fetchone()[0]
all_ids = {row[0] for row in db.execute("SELECT record_id FROM record")}
db.close()
missing_store = [c for c in acked_cases if c not in rated]
with lock:
    got = list(received)
missing_recv = [c for c in acked_cases if c in rated and rated[c] not in set(got)]
dups = len(got) - len(set(got))
not_ours = len(set(got) - all_ids)
bad_integrity = sum(1 for i in integrity if i != "ok")
print(f"faults kill-9: rounds={rounds} sent={sent} acked={acked} stored={stored} received={len(set(got))} "
      f"posts={raw_posts[0]} duplicates={dups} acked_missing_in_store={len(missing_store)} "
      f"acked_missing_at_receiver={len(missing_recv)} unknown_at_receiver={not_ours} integrity_not_ok={bad_integrity} final_backlog={backlog}")
ok = not missing_store and not missing_recv and dups == 0 and not_ours == 0 and bad_integrity == 0 and backlog == 0 and acked > 0
print(f"faults: {1 if ok else 0} passed, {0 if ok else 1} failed")
if ok: shutil.rmtree(work, ignore_errors=True)
else: print(f"kept {work} for inspection")
sys.exit(0 if ok else 1)
