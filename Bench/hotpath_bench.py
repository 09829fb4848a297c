#!/usr/bin/env python3
"""make bench, the hot path (issue 21): a closed loop of 8 buses × 8 pads against the release
evaluatord, every press a stored, chained `no_case` record (the flood limit lifted), and the
same loop against a naive gateway in the same run (Bench/naive_gateway.py: Python's sqlite3,
one commit per press, a thread per bus, WAL + FULL).

Each pad keeps one press outstanding: it presses, waits for its ack, presses the next key. So
throughput is the gateway's, and CPU per press is the gateway process's user + system time
(/proc/PID/stat) over the run divided by the presses acked. The driver is one select loop in
this process (its own CPU is not counted).

  hotpath_bench.py BIN_DIR OUT_DIR      (BENCH_HOT_S seconds per gateway, default 10)

Goals (issue 21): ≤ 50 µs CPU per press, ≥ 25,000 presses/s, press→ack p99 not worse."""
import json, os, select, signal, socket, sqlite3, subprocess, sys, tempfile, time

bin_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/release")
out_dir = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else ".build/bench")
SECONDS = float(os.environ.get("BENCH_HOT_S", "10"))
BUSES, PADS = 8, 8
os.makedirs(out_dir, exist_ok=True)
work = tempfile.mkdtemp(prefix="evaluatord-hot-", dir=os.environ.get("BENCH_DIR"))
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "scripts"))
from padsim import frame, linked_pty

TICK = os.sysconf("SC_CLK_TCK")

def cpu_s(pid):
    """User + system CPU seconds of a process, all its threads."""
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK

def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")

def acks_in(buf):
    """(addresses acked, rest) from the bytes a gateway wrote to a bus."""
    out = []
    while True:
        i = buf.find(b"\x68")
        if i < 0 or len(buf) - i < 4: return out, buf[i:] if i >= 0 else b""
        buf = buf[i:]
        n = buf[1]
        if buf[2] != n or buf[3] != 0x68: buf = buf[1:]; continue
        if len(buf) < 6 + n: return out, buf
        body = buf[4:4 + n]
        if n >= 2 and buf[4 + n] == sum(body) % 256 and buf[5 + n] == 0x16 and body[1] == 0x01:
            out.append(body[0])
        buf = buf[6 + n:]

def closed_loop(pid, masters):
    """Presses for SECONDS; returns the figures."""
    keys = {(b, a): 0 for b in range(BUSES) for a in range(PADS)}
    sent_at = {}
    lat = []
    bufs = [b""] * BUSES
    def press(b, a):
        keys[(b, a)] = (keys[(b, a)] + 1) % 4          # another key each time: no retransmit folding
        sent_at[(b, a)] = time.perf_counter()
        return frame(a, 0x11, [keys[(b, a)]])
    # warm-up: one round, not counted
    for b, m in enumerate(masters):
        os.write(m, b"".join(press(b, a) for a in range(PADS)))
    pending = BUSES * PADS
    while pending:
        r, _, _ = select.select(masters, [], [], 10)
        if not r: raise SystemExit("the gateway stopped acking during the warm-up")
        for m in r:
            b = masters.index(m)
            got, bufs[b] = acks_in(bufs[b] + os.read(m, 65536))
            pending -= len(got)
    c0, t0, d0 = cpu_s(pid), time.perf_counter(), os.times()
    end = t0 + SECONDS
    acked = 0
    for b, m in enumerate(masters):
        os.write(m, b"".join(press(b, a) for a in range(PADS)))
    outstanding = BUSES * PADS
    while outstanding:
        r, _, _ = select.select(masters, [], [], 10)
        if not r: raise SystemExit(f"the gateway stopped acking ({outstanding} presses outstanding)")
        now = time.perf_counter()
        for m in r:
            b = masters.index(m)
            got, bufs[b] = acks_in(bufs[b] + os.read(m, 65536))
            again = []
            for a in got:
                lat.append((now - sent_at[(b, a)]) * 1000)
                acked += 1
                if now < end: again.append(press(b, a))
                else: outstanding -= 1
            if again: os.write(m, b"".join(again))
    elapsed = time.perf_counter() - t0
    cpu = cpu_s(pid) - c0
    d1 = os.times()
    driver = (d1.user - d0.user + d1.system - d0.system) / elapsed
    return {"acked": acked, "seconds": elapsed, "per_s": acked / elapsed, "cpu_s": cpu, "driver_cpu_share": driver,
            "cpu_us_per_press": cpu / acked * 1e6, "ack_p50_ms": pct(lat, 50), "ack_p99_ms": pct(lat, 99)}

def stored(db):
    c = sqlite3.connect(db); n = c.execute("SELECT COUNT(*) FROM record").fetchone()[0]; c.close(); return n

results = {}

# --- evaluatord ---------------------------------------------------------------------------
pairs = [linked_pty(f"{work}/pad{b}") for b in range(BUSES)]
text = f'[gateway]\nid = "bench"\nregion = "370211"\nstate_dir = "{work}/state"\n[api]\nlisten = "127.0.0.1:18743"\n'
text += '[session]\nmax_presses_per_minute = 100000\n'
for b in range(BUSES):
    text += f'[[bus]]\nid = "bus{b}"\nport = "{work}/pad{b}"\n'
    for a in range(PADS):
        text += f'[[window]]\nid = "W{b}_{a}"\ndepartment = "d"\npad = {{ bus = "bus{b}", address = {a} }}\n'
open(f"{work}/hot.toml", "w").write(text)
notify = f"{work}/notify.sock"
ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); ns.bind(notify); ns.settimeout(30)
# (a daemon that exits before READY says why in daemon.log)
proc = subprocess.Popen([f"{bin_dir}/evaluatord", "--config", f"{work}/hot.toml", "--log-level", "error"],
                        env=dict(os.environ, NOTIFY_SOCKET=notify), stdout=subprocess.DEVNULL, stderr=open(f"{work}/daemon.log", "ab"))
while "READY=1" not in ns.recv(4096).decode(): pass
ns.close()
time.sleep(1.0)                                       # every bus attached
masters = [m for m, s in pairs]
# BENCH_PERF=FILE: `perf record -g` on the daemon during the loop (the profile in BENCHMARKS.md).
perf = None
if os.environ.get("BENCH_PERF") == "stat":       # BENCH_PERF=stat: syscalls per run (fsyncs = group commits)
    perf = subprocess.Popen(["perf", "stat", "-e", "syscalls:sys_enter_fdatasync,syscalls:sys_enter_pwrite64,syscalls:sys_enter_write,syscalls:sys_enter_read,syscalls:sys_enter_futex,context-switches", "-p", str(proc.pid)])
elif os.environ.get("BENCH_PERF"):
    perf = subprocess.Popen(["perf", "record", "-g", "-q", "-o", os.environ["BENCH_PERF"], "-p", str(proc.pid)])
results["evaluatord"] = closed_loop(proc.pid, masters)
if perf: perf.send_signal(signal.SIGINT); perf.wait()
proc.send_signal(signal.SIGTERM); proc.wait()
results["evaluatord"]["stored"] = stored(f"{work}/state/evaluatord.sqlite")
for m, s in pairs: os.close(m); os.close(s)

# --- the naive gateway, same run ----------------------------------------------------------
pairs = [linked_pty(f"{work}/naive{b}") for b in range(BUSES)]
naive = subprocess.Popen([sys.executable, os.path.join(here, "naive_gateway.py"), f"{work}/naive.sqlite"] +
                         [os.ttyname(s) for m, s in pairs], stdout=subprocess.PIPE, text=True)
assert naive.stdout.readline().strip() == "READY"
time.sleep(0.3)
results["naive_python"] = closed_loop(naive.pid, [m for m, s in pairs])
naive.kill(); naive.wait()
results["naive_python"]["stored"] = stored(f"{work}/naive.sqlite")
for m, s in pairs: os.close(m); os.close(s)

e, n = results["evaluatord"], results["naive_python"]
results["goals"] = {"cpu_us_per_press": 50, "per_s": 25000,
                    "met": e["cpu_us_per_press"] <= 50 and e["per_s"] >= 25000,
                    "throughput_vs_naive": e["per_s"] / n["per_s"], "cpu_vs_naive": e["cpu_us_per_press"] / n["cpu_us_per_press"]}
json.dump(results, open(f"{out_dir}/hotpath.json", "w"), indent=2)
for name, r in (("evaluatord", e), ("naive Python gateway", n)):
    print(f"hot path, 8 buses × 8 pads, {name:21s} {r['per_s']:8.0f} presses/s  {r['cpu_us_per_press']:6.1f} µs CPU/press  "
          f"ack p50 {r['ack_p50_ms']:.2f} p99 {r['ack_p99_ms']:.2f} ms  ({r['acked']} acked, {r['stored']} stored; driver {r['driver_cpu_share']:.2f} of a core)")
g = results["goals"]
print(f"hot path goals (≤ 50 µs/press, ≥ 25,000/s): {'met' if g['met'] else 'NOT met'};  "
      f"{g['throughput_vs_naive']:.2f}× the naive gateway's throughput, {g['cpu_vs_naive']:.2f}× its CPU per press")
