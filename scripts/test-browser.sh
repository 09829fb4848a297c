#!/usr/bin/env bash
# The browser tests (Tests/browser): real headless Chromium driven by Selenium against the built
# evaluatord. Selenium comes from PyPI into a venv under .build (git-ignored). Without Chromium,
# chromedriver or Selenium the tests are reported as skipped — except in CI, where that fails.
set -uo pipefail
cd "$(dirname "$0")/.."
venv=.build/venv-browser
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >/dev/null 2>&1 || rm -rf "$venv"
fi
if [ -x "$venv/bin/python" ] && ! "$venv/bin/python" -c "import selenium" 2>/dev/null; then
    "$venv/bin/pip" install -q "selenium>=4.20,<5" || echo "pip could not install selenium"
fi
py=python3
[ -x "$venv/bin/python" ] && py="$venv/bin/python"
if [ "${CI:-}" = true ]; then
    for need in chromium chromedriver; do command -v "$need" >/dev/null || { echo "CI: $need is missing (make browser-deps)"; exit 1; }; done
    "$py" -c "import selenium" || { echo "CI: selenium is missing"; exit 1; }
fi
exec "$py" -m unittest -v Tests/browser/test_pages.py
