"""The host's side of the VM tests (run.py, run_systemd.py): boot ../shared/vm, play the
serial pad on the FTDI adapter's socket, and carry out the guest's requests (a file
`want-NAME` in WORK; `did-NAME` once done)."""
import os, shutil, socket, subprocess, sys, tempfile, threading, time

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(os.path.dirname(here))
vm = os.path.join(os.path.dirname(repo), "shared", "vm")
sys.path.insert(0, vm)
from qmp import QMP  # noqa: E402

# "68" frames of the serial pad at address 3: the host's start-rating, the pad's press of
# key 2, the host's ack of it.
START = bytes.fromhex("ff6803036803010b0f16")
PRESS2 = bytes.fromhex("ff680303680311021616")
ACK2 = bytes.fromhex("ff680303680301020616")


def workdir(files):
    w = tempfile.mkdtemp(prefix="evaluatord-vm-")
    for f in files:
        shutil.copy(os.path.join(here, f), w)
    return w


def boot(w, script, devices, env=None):
    args = [os.path.join(vm, "run.sh"), w, script,
            "-chardev", f"socket,id=ser1,path={w}/ser1.sock,server=on,wait=off",
            "-device", "usb-serial,chardev=ser1,id=serdev1,bus=xhci.0,port=2,always-plugged=on"] + devices
    return subprocess.Popen(args, stdout=open(os.path.join(w, "console.log"), "wb"), stderr=subprocess.STDOUT,
                            cwd=repo, env={**os.environ, **(env or {})})


class SerialPad:
    """The pad's end of the FTDI adapter: connects as soon as QEMU listens (bytes the guest
    sends while no client is connected are dropped by the chardev)."""

    def __init__(self, w):
        self.path = os.path.join(w, "ser1.sock")
        self.rx = bytearray()
        self.sock = None
        self.log = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            try:
                s = socket.socket(socket.AF_UNIX); s.connect(self.path); break
            except OSError:
                time.sleep(0.05)
        self.sock = s
        while True:
            try:
                d = s.recv(256)
            except OSError:
                return
            if not d:
                return
            self.rx.extend(d)

    def wait(self, pattern, timeout=30):
        end = time.time() + timeout
        while pattern not in self.rx:
            if time.time() > end:
                raise TimeoutError(f"no {pattern.hex()} on the serial line (got {bytes(self.rx).hex()})")
            time.sleep(0.05)

    def press(self):
        """Waits for the start-rating frame, presses key 2, waits for its ack."""
        self.wait(START)
        self.log.append("start-rating seen")
        self.sock.sendall(PRESS2)
        self.wait(ACK2)
        self.log.append("ack seen")


def drive(proc, w, actions, timeout_s=420):
    """Carries out the guest's requests until the VM powers off; returns the QMP connection's log."""
    q = [None]
    errors = []
    deadline = time.time() + timeout_s
    done = set()
    while proc.poll() is None and time.time() < deadline:
        if q[0] is None and os.path.exists(os.path.join(w, "qmp.sock")):
            try:
                q[0] = QMP(os.path.join(w, "qmp.sock"))
            except OSError:
                q[0] = None
        for name, act in actions.items():
            if name not in done and os.path.exists(os.path.join(w, f"want-{name}")):
                try:
                    act(q[0])
                except Exception as e:  # reported through the checks
                    errors.append(f"{name} failed: {e}")
                done.add(name)
                time.sleep(0.3)
                open(os.path.join(w, f"did-{name}"), "w").close()
        time.sleep(0.1)
    if proc.poll() is None:
        proc.kill()
    return errors


def read(w, name):
    try:
        return open(os.path.join(w, name), encoding="utf-8", errors="replace").read()
    except OSError:
        return ""
