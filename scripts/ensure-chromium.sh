#!/usr/bin/env bash
# Installs Debian's Chromium when it is missing: the dashboard's browser test (e2e/src/dashboard.e2e.spec.ts) drives
# it headless with puppeteer-core. Idempotent: nothing to do (and no apt-get at all) when /usr/bin/chromium is there,
# or when CHROMIUM_PATH names another one. apt-get runs under /tmp/apt.lock so parallel installs never collide.
set -euo pipefail

chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ -x "$chromium" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "No Chromium at $chromium and no apt-get to install it: install Chromium, or set CHROMIUM_PATH." >&2
  exit 1
fi
sudo=()
if [ "$(id -u)" != 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "Installing Chromium needs root: run \`apt-get install -y chromium\` as root, or set CHROMIUM_PATH." >&2
    exit 1
  fi
  sudo=(sudo -n)
fi
started=$(date +%s)
echo "==> Installing Chromium (Debian package chromium, first time only)"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine's package lists may not know it yet: update them only then.
if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  "${sudo[@]}" flock /tmp/apt.lock apt-get update -qq
fi
"${sudo[@]}" flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "==> Chromium installed in $(($(date +%s) - started)) s: $("$chromium" --version 2>/dev/null)"
