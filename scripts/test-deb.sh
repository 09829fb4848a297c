#!/usr/bin/env bash
# make test-deb (issue 13): the package installed into a fresh Debian 12 root that has no
# Swift (debootstrap --variant=minbase), and used there with the installed binaries:
# --version, check-config of the shipped config, a press end to end (a simulated "68" pad on a
# pty, an evaluation opened through the API), the old-hand-install warnings, a conffile kept
# across a reinstall, `remove` keeping the state folder and `purge` removing it.
# DEB_TEST_ROOT keeps the Debian root between runs (default: a new one under .build-deb).
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$(ls -t dist/evaluatord_*.deb | head -1)
root=${DEB_TEST_ROOT:-$PWD/.build-deb/debian-root}
mirror=${DEB_MIRROR:-http://deb.debian.org/debian}
fail() { echo "test-deb: FAIL: $*" >&2; exit 1; }
pass() { echo "test-deb: ok: $*"; }

if [ ! -x "$root/usr/bin/apt-get" ]; then
    rm -rf "$root"
    debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
fi
mounted=()
cleanup() {
    [ -n "${daemon_pid:-}" ] && kill "$daemon_pid" 2>/dev/null || true
    for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null || true; done
}
trap cleanup EXIT
for m in proc dev/pts; do
    mkdir -p "$root/$m"
    if [ "$m" = proc ]; then mount -t proc proc "$root/proc"; else mount --bind /dev/pts "$root/dev/pts"; fi
    mounted=("$root/$m" "${mounted[@]}")
done
cp /etc/resolv.conf "$root/etc/resolv.conf"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }

in_root sh -c 'command -v swift' && fail "the Debian root has swift"
in_root sh -c 'ls /usr/lib/*/libswiftCore.so* /usr/lib/swift 2>/dev/null' && fail "the Debian root has a Swift runtime"
pass "fresh Debian $(cat "$root/etc/debian_version") root, no Swift"

# An old hand install (README before the package): the package must warn about both.
mkdir -p "$root/etc/systemd/system" "$root/usr/local/bin"
printf '[Service]\nExecStart=/usr/local/bin/evaluatord\n' > "$root/etc/systemd/system/evaluatord.service"
printf '#!/bin/sh\n' > "$root/usr/local/bin/evaluatord"
cp "$deb" "$root/tmp/evaluatord.deb"
in_root apt-get update -qq
out=$(in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/evaluatord.deb 2>&1) || { echo "$out"; fail "apt-get install"; }
echo "$out" | grep -q "/etc/systemd/system/evaluatord.service (an old hand install) overrides the packaged unit" || { echo "$out"; fail "no warning about the old unit"; }
echo "$out" | grep -q "/usr/local/bin/evaluatord (an old hand install)" || { echo "$out"; fail "no warning about the old binary"; }
pass "apt-get install ./$(basename "$deb") (warned about the old hand install)"
rm -f "$root/etc/systemd/system/evaluatord.service" "$root/usr/local/bin/evaluatord"

for f in /usr/bin/evaluatord /usr/bin/evaluatorctl /usr/lib/systemd/system/evaluatord.service /usr/lib/sysusers.d/evaluatord.conf \
         /etc/evaluatord/evaluatord.toml /usr/share/evaluatord/profiles/gbt39046.toml /usr/share/doc/evaluatord/README.md; do
    in_root dpkg -S "$f" >/dev/null || fail "the package does not ship $f"
done
grep -qx /etc/evaluatord/evaluatord.toml "$root/var/lib/dpkg/info/evaluatord.conffiles" || fail "the config is not a conffile"
in_root getent passwd evaluatord >/dev/null || fail "no user evaluatord"
in_root id -nG evaluatord | grep -qw dialout || fail "evaluatord is not in dialout"
in_root id -nG evaluatord | grep -qw input && fail "evaluatord is in input (it would read every keyboard)"
in_root sh -c 'ldd /usr/bin/evaluatord /usr/bin/evaluatorctl' | grep -q "not found" && fail "a library is missing"
pass "files, conffile, user evaluatord (dialout, not input), libraries"

v=$(in_root evaluatord --version) && echo "$v" | grep -q "^evaluatord [0-9]" || fail "evaluatord --version: $v"
in_root evaluatorctl --version | grep -q "^evaluatorctl [0-9]" || fail "evaluatorctl --version"
in_root evaluatorctl check-config /etc/evaluatord/evaluatord.toml >/dev/null || fail "check-config of the shipped config"
pass "$v; check-config /etc/evaluatord/evaluatord.toml"

# A press end to end with the installed binaries.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$root/tmp/e2e"
cat > "$root/tmp/e2e/e2e.toml" <<TOML
[gateway]
id = "deb-test"
region = "370211"
state_dir = "/tmp/e2e/state"
[api]
listen = "127.0.0.1:$port"
[[bus]]
id = "bus1"
port = "/tmp/e2e/pad"
[[window]]
id = "W01"
department = "d"
pad = { bus = "bus1", address = 3 }
TOML
chroot "$root" evaluatorctl simulate --link /tmp/e2e/pad --address 3 --key 2 --delay-ms 100 --answers 1 > "$root/tmp/e2e/pad.log" 2>&1 &
pad_pid=$!
chroot "$root" evaluatord --config /tmp/e2e/e2e.toml > "$root/tmp/e2e/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
curl -sf -X POST -H 'Content-Type: application/json' -d '{"case_id": "DEB-1"}' "http://127.0.0.1:$port/v1/windows/W01/evaluations" >/dev/null \
    || { cat "$root/tmp/e2e/daemon.log"; fail "open an evaluation"; }
for _ in $(seq 100); do kill -0 $pad_pid 2>/dev/null || break; sleep 0.1; done
kill -0 $pad_pid 2>/dev/null && { kill $pad_pid; cat "$root/tmp/e2e/pad.log"; fail "the pad saw no prompt or no ack"; }
kill "$daemon_pid"; wait "$daemon_pid" || true; daemon_pid=""
records=$(in_root evaluatorctl records --config /tmp/e2e/e2e.toml)
echo "$records" | grep "DEB-1" | grep -q "rated" || { echo "$records"; cat "$root/tmp/e2e/daemon.log"; fail "no rated record for DEB-1"; }
pass "a press end to end: prompt, press, ack, record DEB-1 rated (installed binaries)"

# The conffile survives a reinstall; remove keeps the state folder; purge removes it.
echo "# local change" >> "$root/etc/evaluatord/evaluatord.toml"
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold /tmp/evaluatord.deb >/dev/null 2>&1 || fail "reinstall"
grep -q "# local change" "$root/etc/evaluatord/evaluatord.toml" || fail "the reinstall overwrote the config"
mkdir -p "$root/var/lib/evaluatord" && touch "$root/var/lib/evaluatord/evaluatord.sqlite"
in_root env DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq evaluatord >/dev/null 2>&1 || fail "remove"
[ -e "$root/var/lib/evaluatord/evaluatord.sqlite" ] || fail "remove deleted the state folder"
in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq evaluatord >/dev/null 2>&1 || fail "purge"
[ -e "$root/var/lib/evaluatord" ] && fail "purge left the state folder"
pass "conffile kept on reinstall; remove keeps /var/lib/evaluatord; purge removes it"

# A store with ratings the centre has not accepted survives a purge (issue 20): DEB-1 (and the
# store's own audit records) were never uploaded (the e2e config has no uplink).
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/evaluatord.deb >/dev/null 2>&1 || fail "install again"
in_root evaluatorctl purge --config /tmp/e2e/e2e.toml >/dev/null 2>&1 && fail "purge deleted a store with an unsent rating"
out=$(in_root evaluatorctl purge --config /tmp/e2e/e2e.toml 2>&1 || true)
echo "$out" | grep -Eq "^[0-9]+ rating record\(s\) have not reached the centre.*purge --force [0-9]+" || { echo "$out"; fail "purge does not name the unsent count"; }
mkdir -p "$root/var/lib/evaluatord"
cp "$root"/tmp/e2e/state/evaluatord.sqlite* "$root/var/lib/evaluatord/"
in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq evaluatord >/dev/null 2>&1 || fail "purge with unsent ratings"
[ -e "$root/var/lib/evaluatord/evaluatord.sqlite" ] || fail "the package's purge deleted unsent ratings"
in_root evaluatorctl --help >/dev/null 2>&1 && fail "the binary is still installed"
pass "unsent ratings: evaluatorctl purge refuses and names the count; the package's purge keeps /var/lib/evaluatord"
echo "test-deb: all passed"
