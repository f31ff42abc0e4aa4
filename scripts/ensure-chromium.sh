#!/usr/bin/env bash
# Make sure Debian's Chromium is installed: the web UI's browser tests drive it with Playwright
# (launched by path; Playwright's own browser downloads are not used).
set -euo pipefail

if command -v chromium >/dev/null 2>&1 || [ -n "${INSIGHTLOOP_CHROMIUM:-}" ]; then
  exit 0
fi

echo "The browser tests need Chromium; installing Debian's chromium package..."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "Not root and no sudo: install Chromium by hand (apt-get install chromium), or set" >&2
    echo "INSIGHTLOOP_CHROMIUM to a Chromium executable." >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
chromium --version
