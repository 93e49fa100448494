#!/usr/bin/env bash
# Install Debian's headless browser for the admin tests (tests/e2e, marked "browser"):
# chromium and chromium-driver, at /usr/bin/chromium and /usr/bin/chromedriver.
# Idempotent: does nothing when both are already there. Needs root (or sudo) and apt-get.
# With --check it only says (exit status 0 or 1) whether both are there.
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi
if [ "${1:-}" = "--check" ]; then
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install-browser: need root (or sudo) to install chromium and chromium-driver" >&2
        exit 1
    fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: apt-get not found; install chromium and chromedriver yourself" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null

for binary in /usr/bin/chromium /usr/bin/chromedriver; do
    if [ ! -x "$binary" ]; then
        echo "install-browser: $binary is still missing after apt-get install" >&2
        exit 1
    fi
done
echo "install-browser: $(/usr/bin/chromium --version 2>/dev/null | head -n1)"
