#!/usr/bin/env python3
"""make test-vm-systemd: boots ../shared/vm with systemd as PID 1 (VM_INIT=systemd) and an
FTDI USB-serial pad; the guest (systemd-guest.sh) installs the Debian package, starts the
hardened unit and asks the host to plug a USB keypad in after the start, press it, play the
serial pad and plug a second keyboard. Prints the guest's PASS/FAIL lines and a closing
'N passed, M failed' line."""
import glob, os, shutil, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmhost import SerialPad, boot, drive, read, repo, workdir  # noqa: E402

debs = sorted(glob.glob(os.path.join(repo, "dist", "evaluatord_*.deb")), key=os.path.getmtime)
if not debs:
    sys.exit("run_systemd.py: no dist/evaluatord_*.deb (make deb)")
w = workdir(["systemd-guest.sh", "receiver.py"])
shutil.copy(debs[-1], os.path.join(w, "evaluatord.deb"))
proc = boot(w, "systemd-guest.sh", [], env={"VM_INIT": "systemd", "VM_MEM": "1536"})
pad = SerialPad(w)
errors = drive(proc, w, {
    "plug-pad": lambda q: q.cmd("device_add", driver="usb-kbd", id="pad1", bus="xhci.0", port="1"),
    "press-kp5": lambda q: q.press("kp_5"),
    "serial-press": lambda q: pad.press(),
    "plug-second": lambda q: q.cmd("device_add", driver="usb-kbd", id="pad3", bus="xhci.0", port="3"),
}, timeout_s=600)
results = [l for l in read(w, "results.txt").splitlines() if l.startswith(("PASS ", "FAIL "))]
results.insert(0, ("PASS " if os.path.exists(os.path.join(w, "finished")) else "FAIL ") + "the guest ran to the end")
for line in results:
    print(line)
print("security: " + read(w, "security.txt").strip())
failed = [l for l in results if l.startswith("FAIL")]
if failed or errors:
    print("--- vm.out ---\n" + read(w, "vm.out")[-5000:] + "\n--- journal ---\n" + read(w, "journal.txt")[-5000:]
          + "\n--- host ---\n" + "\n".join(errors + pad.log))
print(f"vm-systemd: {len(results) - len(failed)} passed, {len(failed)} failed")
shutil.rmtree(w, ignore_errors=True)
sys.exit(1 if failed or errors else 0)
