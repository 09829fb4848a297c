#!/usr/bin/env python3
"""make test-vm: boots ../shared/vm with a USB keypad and an FTDI USB-serial pad, runs the
real evaluatord inside (guest.sh), and plays the citizen and the hardware from the host:
QMP key presses, unplug/replug, and the serial pad's side of the "68" bus. Prints one
PASS/FAIL line per check and a closing 'N passed, M failed' line."""
import json, os, shutil, socket, subprocess, sys, tempfile, threading, time

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(os.path.dirname(here))
vm = os.path.join(os.path.dirname(repo), "shared", "vm")
sys.path.insert(0, vm)
from qmp import QMP  # noqa: E402

bin_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(repo, ".build", "debug")
w = tempfile.mkdtemp(prefix="evaluatord-vm-")
for f in ("guest.sh", "receiver.py"):
    shutil.copy(os.path.join(here, f), w)
open(os.path.join(w, "bin-dir"), "w").write(os.path.abspath(bin_dir) + "\n")

START = bytes.fromhex("ff680303680301 0b0f16".replace(" ", ""))
PRESS2 = bytes.fromhex("ff680303680311021616")
ACK2 = bytes.fromhex("ff680303680301020616")

proc = subprocess.Popen(
    [os.path.join(vm, "run.sh"), w, "guest.sh",
     "-device", "usb-kbd,id=pad1,bus=xhci.0,port=1",
     "-chardev", f"socket,id=ser1,path={w}/ser1.sock,server=on,wait=off",
     "-device", "usb-serial,chardev=ser1,id=serdev1,bus=xhci.0,port=2,always-plugged=on"],
    stdout=open(os.path.join(w, "console.log"), "wb"), stderr=subprocess.STDOUT, cwd=repo)

q = None
serial_log = []
serial_rx = bytearray()
serial_sock = []


def serial_reader():
    # Connect as soon as QEMU listens: bytes the guest sends while no client is connected
    # are dropped by the chardev.
    path = os.path.join(w, "ser1.sock")
    while True:
        try:
            s = socket.socket(socket.AF_UNIX); s.connect(path); break
        except OSError:
            time.sleep(0.05)
    serial_sock.append(s)
    while True:
        try:
            d = s.recv(256)
        except OSError:
            return
        if not d:
            return
        serial_rx.extend(d)


threading.Thread(target=serial_reader, daemon=True).start()


def wait_serial(pattern, timeout=30):
    end = time.time() + timeout
    while pattern not in serial_rx:
        if time.time() > end:
            raise TimeoutError(f"no {pattern.hex()} on the serial line (got {bytes(serial_rx).hex()})")
        time.sleep(0.05)


def serial_press():
    wait_serial(START)
    serial_log.append("start-rating seen")
    serial_sock[0].sendall(PRESS2)
    wait_serial(ACK2)
    serial_log.append("ack seen")


actions = {
    "press-kp5": lambda: q.press("kp_5"),
    "press-kp2": lambda: q.press("kp_2"),
    "unplug": lambda: q.unplug("pad1"),
    "plug": lambda: q.cmd("device_add", driver="usb-kbd", id="pad1", bus="xhci.0", port="1"),
    "plug-second": lambda: q.cmd("device_add", driver="usb-kbd", id="pad3", bus="xhci.0", port="3"),
    "serial-press": serial_press,
}
deadline = time.time() + 420
done = set()
while proc.poll() is None and time.time() < deadline:
    if q is None and os.path.exists(os.path.join(w, "qmp.sock")):
        try:
            q = QMP(os.path.join(w, "qmp.sock"))
        except OSError:
            q = None
    for name, act in actions.items():
        if name not in done and os.path.exists(os.path.join(w, f"want-{name}")):
            try:
                act()
            except Exception as e:  # reported through the checks below
                serial_log.append(f"{name} failed: {e}")
            done.add(name)
            time.sleep(0.3)
            open(os.path.join(w, f"did-{name}"), "w").close()
    time.sleep(0.1)
if proc.poll() is None:
    proc.kill()

def read(name):
    try:
        return open(os.path.join(w, name), encoding="utf-8", errors="replace").read()
    except OSError:
        return ""

records = {}
for line in read("received.jsonl").splitlines():
    for r in json.loads(line).get("records", []):
        records.setdefault(r.get("case_id"), []).append(r)
log, devices, out = read("daemon.log"), read("devices.txt"), read("vm.out")

checks = [
    ("the guest ran to the end", "finished" in os.listdir(w)),
    ("keypad bound by ID_PATH through udev and grabbed", "pad found by udev" in log and "pad grabbed" in log),
    ("USB keypad KP5 rated V-1 very_satisfied", [r["level"] for r in records.get("V-1", [])] == ["very_satisfied"]),
    ("unplug logged as detached, replug re-attached", "pad detached" in log and log.count("pad grabbed") >= 2),
    ("session kept across replug: KP2 rated V-2 dissatisfied", [r["level"] for r in records.get("V-2", [])] == ["dissatisfied"]),
    ("serial pad prompted and acked over the FTDI adapter", serial_log[:2] == ["start-rating seen", "ack seen"]),
    ("serial press rated V-3 satisfied", [r["level"] for r in records.get("V-3", [])] == ["satisfied"]),
    ("devices lists the pads and the unconfigured keypad's config line", "attached" in devices and "pad = { match = { id_path" in devices),
]
passed = sum(1 for _, ok in checks if ok)
for name, ok in checks:
    print(("PASS " if ok else "FAIL ") + name)
if passed != len(checks):
    print("--- vm.out ---\n" + out[-4000:] + "\n--- daemon.log ---\n" + log[-4000:] + "\n--- host ---\n" + "\n".join(serial_log))
print(f"vm: {passed} passed, {len(checks) - passed} failed")
shutil.rmtree(w, ignore_errors=True)
sys.exit(0 if passed == len(checks) else 1)
