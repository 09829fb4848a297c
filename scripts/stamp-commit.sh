#!/usr/bin/env bash
# Writes Sources/CBuildInfo/commit.c with this checkout's commit (short hash, "-dirty" when the
# work tree differs), only when it changed: a new commit relinks, it does not rebuild.
set -euo pipefail
cd "$(dirname "$0")/.."
out=Sources/CBuildInfo/commit.c
commit=$(git rev-parse --short=12 HEAD 2>/dev/null) || { rm -f "$out"; exit 0; }
git diff --quiet HEAD -- 2>/dev/null || commit="$commit-dirty"
text="#include \"CBuildInfo.h\"
const char *evaluatord_build_commit(void) { return \"$commit\"; }"
[ -f "$out" ] && [ "$(cat "$out")" = "$text" ] && exit 0
printf '%s\n' "$text" > "$out"
