#!/usr/bin/env bash
# `npm run mutation`: Stryker over the core modules' unit specs (issue 14), one run per package group, then the
# scores per module into bench/results/mutation.json. `npm run mutation -- switch` runs one group only.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-deps.sh
groups=("$@")
if [ ${#groups[@]} -eq 0 ]; then groups=(allocator switch packet compiler validator); fi
for group in "${groups[@]}"; do
  echo "==> Stryker: $group"
  MUTATION_GROUP="$group" npx stryker run stryker.config.mjs
done
node scripts/mutation-report.mjs
