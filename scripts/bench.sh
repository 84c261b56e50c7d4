#!/usr/bin/env bash
# `npm run bench -- <name>`: runs one benchmark (or lists them). Installs and builds what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-deps.sh
exec node bench/dist/cli.js "$@"
