#!/usr/bin/env bash
# Browser test of the course's widgets (see tests/browser/README.md):
# JupyterLab on 127.0.0.1 + notebook 07 run in headless Chromium, driven by Playwright.
# Screenshots and logs land in build/browser-test/ (or $COURSE_BROWSER_ARTIFACTS).
#
#   scripts/browser_test.sh            # installs Chromium (apt) and playwright (pip) if missing, then runs it
#   scripts/browser_test.sh -x -s      # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}

chromium=${COURSE_CHROMIUM:-$(command -v chromium || true)}
if [ -z "$chromium" ]; then
    echo "Installing Debian's chromium (apt-get) ..."
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium
    chromium=$(command -v chromium)
fi
if ! "$PY" -c "import playwright.sync_api" 2>/dev/null; then
    echo "Installing the playwright package (pip; it drives the Chromium above, no browser download) ..."
    "$PY" -m pip install --quiet playwright
fi

export COURSE_BROWSER_TEST=1
export COURSE_CHROMIUM="$chromium"
export COURSE_BROWSER_ARTIFACTS=${COURSE_BROWSER_ARTIFACTS:-build/browser-test}
status=0
"$PY" -m pytest tests/browser -v -p no:randomly "$@" || status=$?
echo "Screenshots and logs: $COURSE_BROWSER_ARTIFACTS/"
exit $status
