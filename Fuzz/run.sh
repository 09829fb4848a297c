#!/usr/bin/env bash
# make fuzz: builds a libFuzzer binary per decoder (-sanitize=fuzzer,address) from the pure
# protocol sources, seeds it from the shared fixtures and the protocol document's examples,
# and runs each for FUZZ_SECONDS (default 60). Prints executions and findings per target.
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
for t in framed68:Framed68Fuzz evdev:EvdevFuzz hidraw:HidrawFuzz; do
  name=${t%%:*}; file=${t##*:}
  swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name EvaluatorProtocol \
    Sources/EvaluatorProtocol/*.swift "Fuzz/$file.swift" -o "$OUT/$name" 2> "$OUT/$name.build.log" \
    || { cat "$OUT/$name.build.log"; exit 1; }
  mkdir -p "$OUT/findings/$name"
  log="$OUT/$name.log"
  if "$OUT/$name" -max_total_time="$SECONDS_EACH" -timeout=5 -artifact_prefix="$OUT/findings/$name/" \
       "$OUT/corpus/$name" > "$log" 2>&1; then result=ok; else result=FAILED; status=1; fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  [ -n "$execs" ] || execs=$(grep -Eo '#[0-9]+' "$log" | tail -1 | tr -d '#')
  findings=$(ls "$OUT/findings/$name" | wc -l)
  summary+=("fuzz $name: $result, $execs executions in ${SECONDS_EACH}s, $findings findings")
done
printf '%s\n' "${summary[@]}"
exit $status
