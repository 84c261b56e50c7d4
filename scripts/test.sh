#!/usr/bin/env bash
# `npm test`: everything a change must pass. Installs what it needs (npm packages, Redis, Kafka, Jaeger) first.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-deps.sh

echo "==> Format, lint"
npx prettier --check . --log-level warn
npx eslint . --max-warnings 0

echo "==> Installing local infrastructure if missing (Redis, Kafka, Jaeger)"
node lab/dist/cli.js install

echo "==> Unit tests"
node scripts/run-tests.mjs unit
echo "==> Integration tests (real Redis, Kafka, Jaeger)"
node scripts/run-tests.mjs integration
echo "==> End-to-end tests (the whole lab)"
node scripts/run-tests.mjs e2e
