#!/usr/bin/env bash
# make fuzz: builds a libFuzzer binary per target (-sanitize=fuzzer,address) — the decoders
# from the pure protocol sources, the config loader and the API's JSON bodies through the
# SwiftPM package in Fuzz/ — seeds each from the shared fixtures, the protocol document's
# examples, Config/ and sample bodies, and runs each for FUZZ_SECONDS (default 60). Prints
# executions and findings per target.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-60}
OUT=.build/fuzz
mkdir -p "$OUT"
SHARED=../shared
seed() {  # seed DIR NAME HEX
  mkdir -p "$1"; printf '%s' "$3" | xxd -r -p > "$1/$2"
}
rm -rf "$OUT/corpus"
seed "$OUT/corpus/framed68" press "ff680303680311021616"
seed "$OUT/corpus/framed68" ack "ff680303680301020616"
seed "$OUT/corpus/framed68" start "ff680303680301 0b0f16"
seed "$OUT/corpus/framed68" garbage "0013689 9ff680303680311021616421 6ff680303680301 0b0f1668"
seed "$OUT/corpus/framed68" caller "ff680404680705010c1916"
mkdir -p "$OUT/corpus/evdev" "$OUT/corpus/hidraw"
cp "$SHARED/fixtures/evdev/usb-keypad-kp1-5-hold-double.bin" "$OUT/corpus/evdev/"
cp "$SHARED/fixtures/evdev/usb-keypad-kp1-5-hold-double.hidraw.bin" "$OUT/corpus/hidraw/"
status=0
summary=()
run_target() {  # run_target NAME BINARY DETECT_LEAKS: runs it on its corpus, adds a summary line
  local name=$1 bin=$2 leaks=$3 log="$OUT/$1.log" result execs findings
  rm -rf "$OUT/findings/$name"; mkdir -p "$OUT/findings/$name"
  if ASAN_OPTIONS="detect_leaks=$leaks" "$bin" -detect_leaks="$leaks" -max_total_time="$SECONDS_EACH" -timeout=5 \
       -artifact_prefix="$OUT/findings/$name/" "$OUT/corpus/$name" > "$log" 2>&1; then result=ok; else result=FAILED; status=1; fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  [ -n "$execs" ] || execs=$(grep -Eo '#[0-9]+' "$log" | tail -1 | tr -d '#')
  findings=$(ls "$OUT/findings/$name" | wc -l)
  summary+=("fuzz $name: $result, $execs executions in ${SECONDS_EACH}s, $findings findings")
}
for t in framed68:Framed68Fuzz evdev:EvdevFuzz hidraw:HidrawFuzz; do
  name=${t%%:*}; file=${t##*:}
  swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name EvaluatorProtocol \
    Sources/EvaluatorProtocol/*.swift "Fuzz/$file.swift" -o "$OUT/$name" 2> "$OUT/$name.build.log" \
    || { cat "$OUT/$name.build.log"; exit 1; }
  run_target "$name" "$OUT/$name" 1
done
# The config loader and the API's JSON bodies need the package's dependencies (TOMLKit,
# Foundation's JSONDecoder): built with SwiftPM from Fuzz/Package.swift.
mkdir -p "$OUT/corpus/config" "$OUT/corpus/api-body"
cp Config/evaluatord.toml "$OUT/corpus/config/"
for f in Config/profiles/*.toml; do cp "$f" "$OUT/corpus/config/profile-$(basename "$f")"; done
printf '[gateway]\nid = "g"\nregion = "370211"\nstate_dir = "/tmp/x"\n[[bus]]\nid = "b"\nport = "/dev/ttyS0"\n[[window]]\nid = "W1"\ndepartment = "d"\npad = { bus = "b", address = 3 }\n' > "$OUT/corpus/config/minimal.toml"
printf '{"case_id": "F-1"}' > "$OUT/corpus/api-body/minimal.json"
printf '{"case_id": " 2026-0001 ", "batch_case_ids": ["2026-0002", "2026-0003"], "matter_code": "370211-001", "matter_name": "不动产登记", "staff_id": "S-7", "timeout_s": 90}' > "$OUT/corpus/api-body/full.json"
printf '{"case_id": 5, "timeout_s": "x"}' > "$OUT/corpus/api-body/types.json"
SPM_FLAGS=(--package-path Fuzz -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
swift build "${SPM_FLAGS[@]}" > "$OUT/spm.build.log" 2>&1 || { tail -40 "$OUT/spm.build.log"; exit 1; }
BIN=$(swift build "${SPM_FLAGS[@]}" --show-bin-path)
# TOMLKit leaks its C++ table (96 B) and key list (24 B) on every parse: found by this target's
# first run (LeakSanitizer, TOMLTable(string:) and tableGetKeys). The daemon parses its config
# once per start, so leak checking is off for this target; crashes and hangs still count.
run_target config "$BIN/FuzzConfig" 0
run_target api-body "$BIN/FuzzAPIBody" 1
printf '%s\n' "${summary[@]}"
exit $status
