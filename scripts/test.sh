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
# Chromium for the dashboard's browser test (Debian's package; nothing to do when it is installed).
bash scripts/ensure-chromium.sh

echo "==> Unit tests"
node scripts/run-tests.mjs unit
echo "==> Integration tests (real Redis, Kafka, Jaeger)"
node scripts/run-tests.mjs integration
echo "==> End-to-end tests (the whole lab)"
node scripts/run-tests.mjs e2e
echo "==> Attack suite (a hostile tenant against the whole lab)"
node scripts/run-tests.mjs attacks

echo "==> Containers tests (the lab in Docker)"
# Only where an engine runs: one line and a skip elsewhere; in CI (CI=true) a missing engine is a failure.
if node -e "process.exit(require('./lab/dist/docker').engineAnswers() ? 0 : 1)"; then
  node lab/dist/cli.js images
  node scripts/run-tests.mjs containers
elif [ "${CI:-}" = true ]; then
  echo "containers: FAILED: no Docker engine answers in CI (.ci/run starts one with \`npm run lab -- engine\`)" >&2
  exit 1
else
  echo "containers: skipped: no Docker engine answers \`docker info\` (start one: npm run lab -- engine)"
fi
