#!/usr/bin/env bash
# `npm run lab [-- <command> [options]]`: brings up the default lab (or runs another lab command; see `npm run lab -- help`).
# With a reachable Docker engine and no arguments it runs the compose lab; otherwise local processes.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -eq 0 ] && [ "${TENANTLAB_MODE:-auto}" != local ] && command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  echo "==> Docker engine found: starting the compose lab (set TENANTLAB_MODE=local for local processes)"
  exec docker compose up --build
fi

bash scripts/ensure-deps.sh
exec node lab/dist/cli.js "${@:-up}"
