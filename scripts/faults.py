#!/usr/bin/env python3
"""make faults: the real evaluatord binary under faults (issue 6). One summary line per
scenario with its counts, then "faults: N passed, M failed".

  kill-9       kill -9 at random moments while presses stream in over a pty and the uplink
               drains (FAULT_ROUNDS rounds, default 200). After every round PRAGMA
               integrity_check must be ok; at the end every acknowledged press is in the store
               and at the receiver exactly once.
  uplink       the uplink fault matrix against the spawned daemon: 503 + Retry-After, 429, 500,
               connection reset before and in the middle of the answer, commit-then-500, a hang past the request
               timeout, and a poison record the central store refuses (400). Every record
               arrives exactly once, the poison one is quarantined, none is lost.
  serial-noise 1 % of bytes corrupted, 1 % dropped, 1 % followed by inserted garbage on the
               pty: every frame that crossed intact is recovered and acked, no other frame is
               accepted (the stored (pad, key) multiset equals the intact frames').
  node-vanish  the pad's device node disappears mid-frame and comes back (FAULT_VANISH
               cycles, default 20); the pad retransmits unacknowledged presses as real pads do:
               every acked press stored once, no case rated twice.
  disk         a 4 MB tmpfs as the state folder: filled up → no press acked; freed → the
               retransmit is acked and stored once; a read-only state folder → the daemon
               refuses to start and names the path. Needs CAP_SYS_ADMIN (mount), else skipped.

FAULT_SCENARIOS="kill-9 uplink ..." picks scenarios; FAULT_SEED seeds the randomness."""
import collections, http.server, json, os, random, select, shutil, signal, socket, socketserver, sqlite3, struct
import subprocess, sys, tempfile, threading, time, tty, urllib.request

bin_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/debug")
rng = random.Random(int(os.environ.get("FAULT_SEED", "68")))
scenarios = os.environ.get("FAULT_SCENARIOS", "kill-9 uplink serial-noise node-vanish disk").split()
root = tempfile.mkdtemp(prefix="evaluatord-faults-")
API = 18741
results = []          # (name, ok, summary)

# --- shared pieces ------------------------------------------------------------------------

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from padsim import frame, linked_pty

def press(addr, key): return frame(addr, 0x11, [key])
def ack(addr, key): return frame(addr, 0x01, [key])

def api(method, path, body=None, timeout=2):
    req = urllib.request.Request(f"http://127.0.0.1:{API}{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, json.loads(r.read() or b"{}")

def try_api(method, path, body=None, timeout=2):
    try:
        return api(method, path, body, timeout)
    except urllib.error.HTTPError as e:
        return e.code, {}
    except Exception:
        return None, {}

# The scenarios stream presses far faster than a person presses and check that each one is
# stored on its own: the flood limit (issue 11, tested on its own) is lifted here.
def write_config(work, windows=(3,), uplink_url=None, retransmit_ms=1500, extra_uplink="", state=None):
    text = f'[gateway]\nid = "370211-faults"\nregion = "370211"\nstate_dir = "{state or work + "/state"}"\n' \
           f'[api]\nlisten = "127.0.0.1:{API}"\n[session]\ntimeout_s = 60\nretransmit_window_ms = {retransmit_ms}\n' \
           f'max_presses_per_minute = 100000\n' \
           f'[[bus]]\nid = "bus1"\nport = "{work}/pad"\n'
    for a in windows:
        text += f'[[window]]\nid = "W{a:02d}"\ndepartment = "faults"\npad = {{ bus = "bus1", address = {a} }}\n'
    if uplink_url:
        text += f'[uplink]\nurl = "{uplink_url}"\n{extra_uplink}'
    path = f"{work}/evaluatord.toml"
    open(path, "w").write(text)
    return path

spawned = []

def start(work, config, wait=True):
    p = subprocess.Popen([f"{bin_dir}/evaluatord", "--config", config, "--log-level", "error"],
                         stdout=subprocess.DEVNULL, stderr=open(f"{work}/daemon.log", "ab"))
    spawned.append(p)
    if wait:
        for _ in range(500):
            if try_api("GET", "/healthz")[0] == 200: break
            if p.poll() is not None: break
            time.sleep(0.02)
    return p

def stop(p, sig=signal.SIGTERM):
    if p.poll() is None:
        p.send_signal(sig)
    p.wait()

class Pty:
    """The pad side of a pty whose slave is linked where the config expects the bus port."""
    def __init__(self, link):
        self.master, self.slave = linked_pty(link)
        self.link, self.buf = link, b""

    def write(self, data):
        off = 0
        while off < len(data):
            _, w, _ = select.select([], [self.master], [], 1)
            if w: off += os.write(self.master, data[off:off + 256])
            self.drain(0)

    def drain(self, timeout):
        r, _, _ = select.select([self.master], [], [], timeout)
        if r:
            try: self.buf += os.read(self.master, 65536)
            except OSError: return False
            return True
        return False

    def wait_for(self, want, timeout):
        end = time.time() + timeout
        while want not in self.buf:
            left = end - time.time()
            if left <= 0: return False
            self.drain(min(left, 0.05))
        self.buf = self.buf.split(want, 1)[1]
        return True

    def close(self, unlink=True):
        for fd in (self.master, self.slave):
            try: os.close(fd)
            except OSError: pass
        if unlink and os.path.lexists(self.link): os.unlink(self.link)

def db_rows(state, sql):
    db = sqlite3.connect(f"{state}/evaluatord.sqlite")
    try: return db.execute(sql).fetchall()
    finally: db.close()

class Receiver:
    """A loopback central store that, like a real one, recognises a re-sent batch by its
    Idempotency-Key. `script(n, records)` picks what the n-th POST gets."""
    def __init__(self, script=None):
        self.lock = threading.Lock()
        self.keys, self.received, self.posts, self.faults = set(), [], 0, collections.Counter()
        outer = self
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                key = self.headers.get("Idempotency-Key", "")
                records = json.loads(body)["records"]
                with outer.lock:
                    outer.posts += 1
                    n = outer.posts
                what = script(n, records) if script else "ok"
                with outer.lock: outer.faults[what] += 1
                if what == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close(); self.close_connection = True; return
                if what == "reset-mid-body":   # the answer starts, then the connection is reset
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"ok\":"); self.wfile.flush()
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close(); self.close_connection = True; return
                if what == "hang":
                    time.sleep(2.5); self.close_connection = True; return
                if what in ("ok", "commit-then-500"):
                    with outer.lock:
                        if key not in outer.keys:
                            outer.keys.add(key)
                            outer.received.extend(r["record_id"] for r in records)
                status = {"ok": 200, "commit-then-500": 500, "500": 500, "503": 503, "429": 429, "400": 400}[what]
                self.send_response(status)
                if what in ("503", "429"): self.send_header("Retry-After", "1")
                self.send_header("Content-Length", "0"); self.end_headers()
            def log_message(self, *a): pass
        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            def handle_error(self, request, client_address): pass   # a killed daemon resets its connections
        self.srv = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}/ratings"

    def ids(self):
        with self.lock: return list(self.received)

    def close(self): self.srv.shutdown(); self.srv.server_close()

def wait_backlog(limit_s):
    end = time.time() + limit_s
    while time.time() < end:
        s, body = try_api("GET", "/v1/status")
        if s == 200 and body.get("backlog", {}).get("records") == 0: return body
        time.sleep(0.2)
    return try_api("GET", "/v1/status")[1]

def report(name, ok, **counts):
    line = f"faults {name}: " + " ".join(f"{k}={v}" for k, v in counts.items()) + f"  → {'ok' if ok else 'FAILED'}"
    print(line, flush=True)
    results.append((name, ok, line))

class Presser:
    """Opens an evaluation for a fresh case and presses a key different from the last one
    (the same key within retransmit_window_ms is, by design, a retransmit of that press)."""
    def __init__(self, prefix): self.n, self.last_key, self.prefix = 0, 0, prefix
    def next(self):
        self.n += 1
        self.last_key = (self.last_key + 1 + rng.randrange(3)) % 4
        return f"{self.prefix}-{self.n}", self.last_key

# --- kill -9 ------------------------------------------------------------------------------

def kill9():
    work = f"{root}/kill9"; os.makedirs(work)
    rounds = int(os.environ.get("FAULT_ROUNDS", "200"))
    recv = Receiver()
    cfg = write_config(work, uplink_url=recv.url, extra_uplink="batch_max = 20\nflush_interval_ms = 50\nbackoff_initial_ms = 20\nbackoff_max_ms = 200\n")
    sent = acked = 0; acked_cases = []; integrity = []; p = Presser("K")
    for _ in range(rounds):
        pad = Pty(f"{work}/pad")
        proc = start(work, cfg)
        kill_at = time.time() + rng.uniform(0.05, 1.2)
        while proc.poll() is None and time.time() < kill_at:
            case, key = p.next()
            if try_api("POST", "/v1/windows/W03/evaluations", {"case_id": case}, timeout=1)[0] is None: break
            pad.write(press(3, key)); sent += 1
            if pad.wait_for(ack(3, key), max(0.0, min(0.5, kill_at + 0.05 - time.time()))):
                acked += 1; acked_cases.append(case)
        stop(proc, signal.SIGKILL); pad.close()
        integrity.append(db_rows(f"{work}/state", "PRAGMA integrity_check")[0][0])
    pad = Pty(f"{work}/pad"); proc = start(work, cfg)
    backlog = wait_backlog(60).get("backlog", {}).get("records"); stop(proc); pad.close()
    rated = dict(db_rows(f"{work}/state", "SELECT case_id, record_id FROM record WHERE outcome = 'rated'"))
    all_ids = {r[0] for r in db_rows(f"{work}/state", "SELECT record_id FROM record")}
    got = recv.ids(); recv.close()
    missing_store = [c for c in acked_cases if c not in rated]
    missing_recv = [c for c in acked_cases if c in rated and rated[c] not in set(got)]
    dups = len(got) - len(set(got)); unknown = len(set(got) - all_ids)
    bad = sum(1 for i in integrity if i != "ok")
    report("kill-9", not missing_store and not missing_recv and dups == 0 and unknown == 0 and bad == 0 and backlog == 0 and acked > 0,
           rounds=rounds, sent=sent, acked=acked, stored=len(all_ids), received=len(set(got)), duplicates=dups,
           acked_missing_in_store=len(missing_store), acked_missing_at_receiver=len(missing_recv),
           unknown_at_receiver=unknown, integrity_not_ok=bad, final_backlog=backlog)

# --- uplink fault matrix ------------------------------------------------------------------

def uplink():
    work = f"{root}/uplink"; os.makedirs(work)
    matrix = ["503", "429", "500", "reset", "reset-mid-body", "commit-then-500", "hang", "ok"]
    def script(n, records):
        if any(r.get("case_id") == "U-POISON" for r in records): return "400"
        return matrix[(n - 1) % len(matrix)]
    recv = Receiver(script)
    cfg = write_config(work, uplink_url=recv.url, extra_uplink="batch_max = 8\nflush_interval_ms = 50\nbackoff_initial_ms = 20\n"
                       "backoff_max_ms = 200\nrequest_timeout_ms = 1000\nmax_in_flight = 2\n")
    pad = Pty(f"{work}/pad"); proc = start(work, cfg)
    n = int(os.environ.get("FAULT_UPLINK_PRESSES", "120")); p = Presser("U"); sent = acked = 0; acked_cases = []
    for i in range(n):
        case, key = p.next()
        if i == n // 2: case = "U-POISON"
        try_api("POST", "/v1/windows/W03/evaluations", {"case_id": case})
        pad.write(press(3, key)); sent += 1
        if pad.wait_for(ack(3, key), 2): acked += 1; acked_cases.append(case)
    status = wait_backlog(180); stop(proc); pad.close()
    rated = dict(db_rows(f"{work}/state", "SELECT case_id, record_id FROM record WHERE outcome = 'rated'"))
    quarantined = {r[0] for r in db_rows(f"{work}/state", "SELECT case_id FROM record WHERE quarantined_at IS NOT NULL")}
    got = recv.ids(); recv.close()
    dups = len(got) - len(set(got))
    missing = [c for c in acked_cases if c != "U-POISON" and rated.get(c) not in set(got)]
    ok = (acked == sent and dups == 0 and not missing and quarantined == {"U-POISON"} and status.get("backlog", {}).get("records") == 0
          and all(recv.faults[f] > 0 for f in matrix + ["400"]))
    report("uplink", ok, sent=sent, acked=acked, stored=len(rated), received=len(set(got)), duplicates=dups,
           missing_at_receiver=len(missing), quarantined=len(quarantined), posts=recv.posts,
           faults="/".join(f"{f}:{recv.faults[f]}" for f in matrix + ["400"]), final_backlog=status.get("backlog", {}).get("records"))

# --- serial noise -------------------------------------------------------------------------

def serial_noise():
    work = f"{root}/noise"; os.makedirs(work)
    cfg = write_config(work, windows=range(64), retransmit_ms=0)
    pad = Pty(f"{work}/pad"); proc = start(work, cfg)
    time.sleep(1.5)   # the bus attaches
    n = int(os.environ.get("FAULT_NOISE_FRAMES", "3000"))
    intact = collections.Counter(); stream = bytearray(); corrupted = dropped = inserted = 0
    for i in range(n):
        addr, key = i % 64, (i // 64 + i) % 4
        good = True
        data = press(addr, key)
        for pos, b in enumerate(data):
            r = rng.random()
            # Byte 0 is the FF wake-up byte, not part of the frame proper (framed-68.md): a frame
            # that lost or garbled only its wake-up byte is still intact.
            if r < 0.01: stream.append(b ^ rng.randrange(1, 256)); corrupted += 1; good = good and pos == 0
            elif r < 0.02: dropped += 1; good = good and pos == 0
            else: stream.append(b)
            if rng.random() < 0.01:
                stream += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 12))); inserted += 1
                if 0 < pos < len(data) - 1: good = False   # garbage inside the frame: it is not intact
        if good: intact[(addr, key)] += 1
    # Written in random-size pieces, at about line speed × 100, collecting acks meanwhile.
    off = 0
    while off < len(stream):
        k = rng.randrange(1, 200)
        pad.write(bytes(stream[off:off + k])); off += k
        pad.drain(0.001)
    while pad.drain(1.0): pass
    acks = collections.Counter()
    i = 0
    while True:   # parse the ack frames the daemon sent back
        j = pad.buf.find(b"\xff\x68", i)
        if j < 0 or j + 9 > len(pad.buf): break
        f = pad.buf[j:j + 10]
        if len(f) == 10 and f[1:5] == b"\x68\x03\x03\x68" and f[6] == 0x01: acks[(f[5], f[7])] += 1
        i = j + 1
    stop(proc); pad.close()
    stored = collections.Counter()
    for body, in db_rows(f"{work}/state", "SELECT body FROM record"):
        r = json.loads(body); stored[(int(r["pad"].split("#")[1]), r["key"])] += 1
    recovered = sum((intact & stored).values())
    lost = sum((intact - stored).values()); invalid = sum((stored - intact).values())
    report("serial-noise", lost == 0 and invalid == 0 and acks == intact,
           sent=n, intact=sum(intact.values()), corrupted_bytes=corrupted, dropped_bytes=dropped, garbage_inserts=inserted,
           acked=sum(acks.values()), stored=sum(stored.values()), recovered=recovered, lost=lost, invalid_accepted=invalid)

# --- device node vanishing ----------------------------------------------------------------

def node_vanish():
    work = f"{root}/vanish"; os.makedirs(work)
    cfg = write_config(work)
    cycles = int(os.environ.get("FAULT_VANISH", "20"))
    pad = Pty(f"{work}/pad"); proc = start(work, cfg)
    p = Presser("V"); sent = acked = retransmits = 0; acked_cases = []; unacked = []
    for c in range(cycles):
        for _ in range(5):
            case, key = p.next()
            try_api("POST", "/v1/windows/W03/evaluations", {"case_id": case})
            got = False; end = time.time() + 15
            while not got and time.time() < end:      # a real pad retransmits until acked
                pad.write(press(3, key)); sent += 1
                got = pad.wait_for(ack(3, key), 0.5)
                if not got: retransmits += 1
            if got: acked += 1; acked_cases.append(case)
            else: unacked.append(case)
        pad.write(press(3, (p.last_key + 1) % 4)[:rng.randrange(1, 9)])   # half a frame, then the node vanishes
        pad.close()
        time.sleep(rng.uniform(0.0, 0.6))
        pad = Pty(f"{work}/pad")
    stop(proc); pad.close()
    rated = collections.Counter(r[0] for r in db_rows(f"{work}/state", "SELECT case_id FROM record WHERE outcome = 'rated'"))
    missing = [c for c in acked_cases if c not in rated]
    twice = [c for c, k in rated.items() if k > 1]
    report("node-vanish", not missing and not twice and not unacked, cycles=cycles, presses=len(acked_cases) + len(unacked),
           frames_sent=sent, retransmits=retransmits, acked=acked, never_acked=len(unacked), stored=sum(rated.values()),
           acked_missing_in_store=len(missing), rated_twice=len(twice))

# --- full and read-only disk --------------------------------------------------------------

def disk():
    work = f"{root}/disk"; os.makedirs(work); state = f"{work}/state"; os.makedirs(state)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", state], stderr=subprocess.DEVNULL).returncode != 0:
        report("disk", True, skipped="cannot mount a tmpfs here (needs CAP_SYS_ADMIN)"); return
    try:
        cfg = write_config(work, state=state)
        pad = Pty(f"{work}/pad"); proc = start(work, cfg)
        p = Presser("D"); sent = acked = acked_full = 0; acked_cases = []
        def one(timeout=2):
            nonlocal sent, acked
            case, key = p.next()
            s, _ = try_api("POST", "/v1/windows/W03/evaluations", {"case_id": case})
            pad.write(press(3, key)); sent += 1
            got = pad.wait_for(ack(3, key), timeout)
            if got: acked += 1
            if got and s == 201: acked_cases.append(case)
            return got
        for _ in range(5): one()
        # An evaluation is open; then the file system fills up.
        p.n += 1; full_case = f"D-{p.n}"     # (no key drawn: the next press must differ from the last one)
        opened = try_api("POST", "/v1/windows/W03/evaluations", {"case_id": full_case})[0] == 201
        fd = os.open(f"{state}/filler", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while os.write(fd, b"\xab" * 65536) > 0: pass
        except OSError: pass
        os.close(fd)
        # Press until one press cannot be committed (the WAL may still have room for a few):
        # the first press rates the case, later ones are extra presses; each has its own record.
        unacked_full = None
        for i in range(200):
            _, key = p.next()
            pad.write(press(3, key)); sent += 1
            if pad.wait_for(ack(3, key), 1):
                acked += 1; acked_full += 1
                if i == 0: acked_cases.append(full_case)
            else:
                unacked_full = (i, key); break
        log = open(f"{work}/daemon.log", errors="replace").read()
        said_why = "store cannot write" in log
        os.unlink(f"{state}/filler")
        recovered = False
        if unacked_full:   # the pad retransmits its unacknowledged press; now it is acked
            i, key = unacked_full
            for _ in range(6):
                pad.write(press(3, key)); sent += 1
                if pad.wait_for(ack(3, key), 0.5):
                    recovered = True; acked += 1
                    if i == 0: acked_cases.append(full_case)
                    break
        for _ in range(3): one()
        stop(proc); pad.close()
        rated = collections.Counter(r[0] for r in db_rows(state, "SELECT case_id FROM record WHERE outcome = 'rated'"))
        records = db_rows(state, "SELECT COUNT(*) FROM record WHERE body LIKE '%\"pad\":\"bus1#3\"%'")[0][0]
        missing = [c for c in acked_cases if c not in rated]; twice = [c for c, k in rated.items() if k > 1]
        integrity = db_rows(state, "PRAGMA integrity_check")[0][0]
        # Read-only state folder: the daemon must refuse to start and name the path.
        subprocess.run(["mount", "-o", "remount,ro", state], check=True)
        proc = start(work, cfg, wait=False)
        try: rc = proc.wait(timeout=15)
        except subprocess.TimeoutExpired: stop(proc, signal.SIGKILL); rc = "still running"
        tail = open(f"{work}/daemon.log", errors="replace").read()[-2000:]
        refused_ro = rc not in (0, "still running") and state in tail
        subprocess.run(["mount", "-o", "remount,rw", state], check=True)
        ok = (opened and unacked_full is not None and recovered and said_why and not missing and not twice and records == acked
              and integrity == "ok" and refused_ro)
        report("disk", ok, frames_sent=sent, acked=acked, acked_while_filling=acked_full, press_records_stored=records,
               rated=sum(rated.values()), acked_missing_in_store=len(missing), rated_twice=len(twice),
               unacked_while_full=int(unacked_full is not None), acked_after_space_freed=int(recovered), log_said_why=int(said_why),
               integrity=integrity, read_only_start_refused=int(refused_ro), read_only_exit=rc)
    finally:
        if not (results and results[-1][0] == "disk" and results[-1][1]):   # keep the evidence
            shutil.copytree(state, f"{work}/state-copy", dirs_exist_ok=True)
        subprocess.run(["umount", "-l", state], stderr=subprocess.DEVNULL)

runners = {"kill-9": kill9, "uplink": uplink, "serial-noise": serial_noise, "node-vanish": node_vanish, "disk": disk}
for name in scenarios:
    if name not in runners:
        print(f"unknown scenario {name!r}; known: {' '.join(runners)}"); sys.exit(2)
    try:
        runners[name]()
    except Exception as e:
        report(name, False, error=repr(e))
    finally:   # a scenario that failed half-way leaves no daemon behind on the API port
        for p in spawned:
            if p.poll() is None: p.kill(); p.wait()
        spawned.clear()
passed = sum(1 for r in results if r[1])
print(f"faults: {passed} passed, {len(results) - passed} failed")
if passed == len(results): shutil.rmtree(root, ignore_errors=True)
else: print(f"kept {root} for inspection")
sys.exit(0 if passed == len(results) else 1)
