# EvaluatorGateway. Quick start: `make demo`, `make test`.
SWIFT ?= swift
# Debian packages the build, the tests and the demo need.
APT_PACKAGES := libudev-dev libsqlite3-dev zlib1g-dev libqrencode-dev pkg-config sqlite3 curl python3 openssl postgresql systemd

.PHONY: all deps stamp build release test demo clean browser-deps screenshots

all: build

# Installs the Debian packages that are missing (as root, or through sudo when it is there).
deps:
	bash scripts/ensure-packages.sh $(APT_PACKAGES)

# The git commit into `--version` (a relink when it changes, not a rebuild).
stamp:
	bash scripts/stamp-commit.sh

build: deps stamp
	$(SWIFT) build

release: deps stamp
	$(SWIFT) build -c release

# A throw-away PostgreSQL on 127.0.0.1:54329 serves the PostgreSQL sink tests.
test: deps stamp
	@url=$$(bash scripts/test-postgres.sh start) || { if [ "$$CI" = true ]; then echo "PostgreSQL could not start (CI: every test must run)"; exit 1; fi; echo "PostgreSQL could not start: its tests will be reported as skipped"; url=""; }; \
	EVALUATORD_TEST_POSTGRES=$$url EVALUATORD_TEST_POSTGRES_CA=$${PGDIR_TEST:-/tmp/evaluatord-test-pg}/server.pem $(SWIFT) test; rc=$$?; \
	bash scripts/test-postgres.sh stop; [ $$rc = 0 ] || exit $$rc; \
	$(SWIFT) build --product evaluatord && bash scripts/test-browser.sh

# What the browser tests need: Debian's Chromium and its driver, the CJK fonts (without them
# every Chinese character renders as a box), python3-venv for Selenium from PyPI.
browser-deps:
	bash scripts/ensure-packages.sh chromium chromium-driver fonts-noto-cjk python3-venv

# The pictures in docs/screenshots (README): taken by the browser tests.
screenshots: build
	SCREENSHOTS_DIR=docs/screenshots bash scripts/test-browser.sh

demo: build
	bash scripts/demo.sh

clean:
	rm -rf .build .build-deb .demo dist

# make install (PREFIX, DESTDIR honoured) lays out what the Debian package ships, from a
# build made before (`make release`; BUILD_DIR to take another). The config is never
# overwritten; the unit's paths follow PREFIX.
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
BUILD_DIR ?= .build/release

.PHONY: install deb test-deb
install:
	@test -x $(BUILD_DIR)/evaluatord -a -x $(BUILD_DIR)/evaluatorctl || { echo "make install: no binaries in $(BUILD_DIR): run make release first"; exit 1; }
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(SYSCONFDIR)/evaluatord \
		$(DESTDIR)$(PREFIX)/share/evaluatord/profiles $(DESTDIR)$(PREFIX)/share/doc/evaluatord
	install -m 755 $(BUILD_DIR)/evaluatord $(BUILD_DIR)/evaluatorctl $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|/usr/bin/|$(PREFIX)/bin/|g' -e 's|/etc/evaluatord/|$(SYSCONFDIR)/evaluatord/|g' Systemd/evaluatord.service > $(DESTDIR)$(UNITDIR)/evaluatord.service
	chmod 644 $(DESTDIR)$(UNITDIR)/evaluatord.service
	install -m 644 Packaging/sysusers.d/evaluatord.conf $(DESTDIR)$(SYSUSERSDIR)/evaluatord.conf
	test -e $(DESTDIR)$(SYSCONFDIR)/evaluatord/evaluatord.toml || install -m 644 Config/evaluatord.toml $(DESTDIR)$(SYSCONFDIR)/evaluatord/evaluatord.toml
	install -m 644 Config/profiles/*.toml $(DESTDIR)$(PREFIX)/share/evaluatord/profiles/
	install -m 644 README.md CHANGELOG.md $(DESTDIR)$(PREFIX)/share/doc/evaluatord/

# The Debian package, with the Swift runtime linked in: dist/evaluatord_<version>_<arch>.deb.
deb: deps
	bash scripts/ensure-packages.sh dpkg-dev binutils
	bash scripts/make-deb.sh

# Installs the package into a fresh Debian 12 root without Swift (debootstrap) and uses it there.
test-deb: deb
	bash scripts/ensure-packages.sh debootstrap
	bash scripts/test-deb.sh

# Device end-to-end tests in a real Linux kernel (../shared/vm): USB keypad via udev, FTDI
# USB-serial "68" bus, plug/unplug. Needs qemu-system-x86, linux-image-amd64, busybox-static, udev.
VM_PACKAGES := qemu-system-x86 linux-image-amd64 busybox-static udev

.PHONY: test-vm test-vm-systemd
test-vm: build
	bash scripts/ensure-packages.sh $(VM_PACKAGES)
	python3 Tests/vm/run.py .build/debug

# The package under systemd as PID 1 in the VM: the hardened unit starts, a keypad plugged in
# after the start and a serial pad are rated, reload, a second keyboard out of reach, stop.
test-vm-systemd: deb
	bash scripts/ensure-packages.sh $(VM_PACKAGES)
	python3 Tests/vm/run_systemd.py

# libFuzzer over the pure decoders (framed-68, evdev, hidraw); FUZZ_SECONDS each (default 60).
.PHONY: fuzz
fuzz:
	bash Fuzz/run.sh

# Crash harness: kill -9 the real daemon at random moments while presses stream in over a pty
# and the uplink drains; FAULT_ROUNDS rounds (default 200).
.PHONY: faults
faults: build
	python3 scripts/faults.py .build/debug

# Benchmarks (never in make test). Part 1: decoder throughput, -O, from the pure sources.
# Part 2: the hot path (8 × 8 closed loop vs a naive gateway); part 3: the release daemon from
# outside (latency, ingest, drain, idle, start-up) + a plot.
.PHONY: bench
bench: release
	mkdir -p .build/bench
	swiftc -O -parse-as-library -module-name EvaluatorProtocol Sources/EvaluatorProtocol/*.swift Bench/DecoderBench.swift -o .build/bench/decoders
	.build/bench/decoders .build/bench/decoders.json
	python3 -c 'import matplotlib' 2>/dev/null || pip install -q matplotlib || true
	python3 Bench/hotpath_bench.py .build/release .build/bench
	python3 Bench/daemon_bench.py .build/release .build/bench
	python3 Bench/lifetime_bench.py .build/release .build/bench

# The hot path alone (issue 21): 8 buses × 8 pads closed loop, next to a naive gateway.
.PHONY: bench-hot
bench-hot: release
	mkdir -p .build/bench
	python3 Bench/hotpath_bench.py .build/release .build/bench

# Only the lifetime figures (issue 12): a 10,000,000-record store (BENCH_LIFETIME_RECORDS), made
# once by bench-storegen and kept in BENCH_DIR when set; start-up, verify, stats, press→ack.
.PHONY: bench-lifetime
bench-lifetime: release
	mkdir -p .build/bench
	python3 Bench/lifetime_bench.py .build/release .build/bench
