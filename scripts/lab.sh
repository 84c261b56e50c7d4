#!/usr/bin/env bash
# `npm run lab [-- <command> [options]]`: brings up the default lab (or runs another lab command; see `npm run lab -- help`).
# `up` picks Docker mode only when an engine, Compose and the images are all there, and says which mode and why.
set -euo pipefail
cd "$(dirname "$0")/.."

# Install and build progress goes to stderr: stdout is the lab CLI's alone, so `status --json` can be parsed.
bash scripts/ensure-deps.sh >&2
exec node lab/dist/cli.js "${@:-up}"
