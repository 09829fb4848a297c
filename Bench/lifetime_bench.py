#!/usr/bin/env python3
"""make bench, part 3 (issue 12): a big hall's lifetime. A store of BENCH_LIFETIME_RECORDS
(default 10,000,000) records over one year, made by bench-storegen through the store's own
commit path (chained and rolled up as the daemon writes them), then, with the release build:

  start-up to READY on that store        goal ≤ 1 s (only the chain's tail is checked at start)
  evaluatorctl verify (whole chain)      goal ≤ 30 s, while the daemon runs
  evaluatorctl stats, one year by window goal ≤ 1 s (hourly rollups)
  GET /v1/stats, one year by window      (the same through the API)
  press→ack p99 while /v1/stats (a year) goal ≤ 1.5 × the same figure on an empty store,
   and /v1/status are polled every second  measured in this run

Writes a table and .build/bench/lifetime.json. The generated store is kept in BENCH_DIR (or a
temporary folder) and reused when it already has the wanted number of records."""
import json, os, select, signal, socket, sqlite3, subprocess, sys, tempfile, threading, time, urllib.request

bin_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/release")
out_dir = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else ".build/bench")
N = int(os.environ.get("BENCH_LIFETIME_RECORDS", "10000000"))
PRESSES = int(os.environ.get("BENCH_LIFETIME_PRESSES", "3000"))
POLL = os.environ.get("BENCH_LIFETIME_POLL", "1") != "0"   # 0: no polling (to attribute the p99)
os.makedirs(out_dir, exist_ok=True)
work = os.environ.get("BENCH_DIR") or tempfile.mkdtemp(prefix="evaluatord-lifetime-")
os.makedirs(work, exist_ok=True)
API = 18743
results = {"records": N}

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from padsim import frame, linked_pty

def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

# --- the store ----------------------------------------------------------------------------
big = f"{work}/big"
db_path = f"{big}/evaluatord.sqlite"
have = 0
if os.path.exists(db_path):
    c = sqlite3.connect(db_path); have = c.execute("SELECT head_seq FROM chain").fetchone()[0]; c.close()
if have < N:
    subprocess.run(["rm", "-rf", big], check=True)
    t = time.perf_counter()
    subprocess.run([f"{bin_dir}/bench-storegen", big, str(N)], check=True)
    results["generate_s"] = time.perf_counter() - t
results["store_bytes"] = os.path.getsize(db_path)

def write_config(name, state):
    text = (f'[gateway]\nid = "bench"\nregion = "370211"\nstate_dir = "{state}"\ntime_zone = "Asia/Shanghai"\n'
            f'[api]\nlisten = "127.0.0.1:{API}"\n[session]\nmax_presses_per_minute = 100000\n'
            f'[[bus]]\nid = "bus1"\nport = "{work}/pad-{name}"\n'
            f'[[window]]\nid = "W0"\ndepartment = "自然资源局"\npad = {{ bus = "bus1", address = 0 }}\n')
    path = f"{work}/{name}.toml"
    open(path, "w").write(text)
    return path

def start(config):
    notify = f"{work}/notify.sock"
    if os.path.exists(notify): os.unlink(notify)
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); ns.bind(notify)
    t0 = time.perf_counter()
    p = subprocess.Popen([f"{bin_dir}/evaluatord", "--config", config, "--log-level", "error"], env=dict(os.environ, NOTIFY_SOCKET=notify),
                         stdout=subprocess.DEVNULL, stderr=open(f"{work}/daemon.log", "ab"))
    ns.settimeout(120)
    while "READY=1" not in ns.recv(4096).decode():
        pass
    ready = (time.perf_counter() - t0) * 1000
    ns.close()
    return p, ready

def get(path):
    t = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{API}{path}", timeout=30) as r:
        body = r.read()
    return (time.perf_counter() - t) * 1000, body

YEAR = f"since={time.strftime('%Y-%m-%d', time.localtime(time.time() - 365 * 86400))}&by=window"

def presses_while_polled(master):
    """press→ack latencies while a poller asks for a year's stats and the status every second."""
    stop = threading.Event(); polls = []
    def poll():
        while not stop.is_set():
            try:
                polls.append(get(f"/v1/stats?{YEAR}")[0]); get("/v1/status")
            except OSError as e:
                polls.append(30_000.0)
            stop.wait(1)
    th = threading.Thread(target=poll)
    if POLL: th.start()
    lat = []; key = 0
    for i in range(PRESSES):
        key = (key + 1) % 4
        press = frame(0, 0x11, [key]); ack = frame(0, 0x01, [key])
        t = time.perf_counter(); os.write(master, press); buf = b""
        while ack not in buf:
            r, _, _ = select.select([master], [], [], 2)
            if not r: break
            buf += os.read(master, 256)
        lat.append((time.perf_counter() - t) * 1000)
        time.sleep(0.002)
    stop.set()
    if POLL: th.join()
    return lat, polls

def phase(name, state):
    m, s = linked_pty(f"{work}/pad-{name}")
    proc, ready = start(write_config(name, state))
    time.sleep(0.5)
    lat, polls = presses_while_polled(m)
    out = {"ready_ms": ready, "press_to_ack_ms": {"n": len(lat), "p50": pct(lat, 50), "p99": pct(lat, 99), "max": max(lat)},
           "stats_poll_ms": {"n": len(polls), "p50": pct(polls, 50), "max": max(polls)} if polls else None}
    return proc, m, s, out

# --- empty store: the reference -----------------------------------------------------------
subprocess.run(["rm", "-rf", f"{work}/empty"], check=True)
proc, m, s, results["empty"] = phase("empty", f"{work}/empty")
proc.send_signal(signal.SIGTERM); proc.wait(); os.close(m); os.close(s)

# --- the big store ------------------------------------------------------------------------
# A first start runs any pending migration (an upgrade of a store made by an older build):
# measured on its own, so start-up below is an ordinary start.
m, s = linked_pty(f"{work}/pad-big")
proc, results["first_start_ms"] = start(write_config("big", big))
proc.send_signal(signal.SIGTERM); proc.wait(); os.close(m); os.close(s)
proc, m, s, results["big"] = phase("big", big)
cfg = f"{work}/big.toml"
t = time.perf_counter()
v = subprocess.run([f"{bin_dir}/evaluatorctl", "verify", "--config", cfg], capture_output=True, text=True)
results["verify_s"] = time.perf_counter() - t
results["verify_output"] = v.stdout.strip()
since = time.strftime("%Y-%m-%d", time.localtime(time.time() - 365 * 86400))
t = time.perf_counter()
st = subprocess.run([f"{bin_dir}/evaluatorctl", "stats", "--config", cfg, "--since", since, "--by", "window", "--json"], capture_output=True, text=True)
results["stats_cli_s"] = time.perf_counter() - t
results["stats_groups"] = len(json.loads(st.stdout)["groups"]) if st.returncode == 0 else st.stderr
results["stats_api_ms"] = get(f"/v1/stats?{YEAR}")[0]
proc.send_signal(signal.SIGTERM); proc.wait(); os.close(m); os.close(s)

e99 = results["empty"]["press_to_ack_ms"]["p99"]; b99 = results["big"]["press_to_ack_ms"]["p99"]
results["goals"] = {
    "ready_le_1s": results["big"]["ready_ms"] <= 1000,
    "verify_le_30s": results["verify_s"] <= 30 and v.returncode == 0,
    "stats_year_le_1s": results["stats_cli_s"] <= 1,
    "p99_within_1_5x_empty": b99 <= 1.5 * e99,
}
json.dump(results, open(f"{out_dir}/lifetime.json", "w"), indent=2)
r = results
print(f"lifetime store: {N} records, {r['store_bytes'] / 1e9:.2f} GB" + (f", made in {r['generate_s']:.0f} s" if "generate_s" in r else " (reused)"))
print(f"first start (migrations) {r['first_start_ms'] / 1000:.1f} s")
print(f"start-up to READY        {r['big']['ready_ms']:.0f} ms        (empty store {r['empty']['ready_ms']:.0f} ms; goal ≤ 1000)")
print(f"evaluatorctl verify      {r['verify_s']:.1f} s         (goal ≤ 30)  {r['verify_output']}")
print(f"stats, a year by window  {r['stats_cli_s'] * 1000:.0f} ms (CLI), {r['stats_api_ms']:.0f} ms (API)  (goal ≤ 1000)")
print(f"press→ack p99 polled     {b99:.2f} ms      (empty store {e99:.2f} ms; goal ≤ 1.5×: {b99 / max(e99, 1e-6):.2f}×)")
print("goals: " + ", ".join(f"{k} {'met' if ok else 'MISSED'}" for k, ok in r["goals"].items()))
