#!/usr/bin/env bash
# `npm run mutation`: Stryker over the core modules' unit specs (issue 14), one run per module as listed in
# scripts/mutation-modules.mjs, then the scores per module into bench/results/mutation.json.
# `npm run mutation -- cpu_budget register_memory` runs those modules only (the report uses the others' last runs).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-deps.sh
modules=("$@")
if [ ${#modules[@]} -eq 0 ]; then
  read -r -a modules < <(node --input-type=module -e \
    "import { MUTATION_MODULES } from './scripts/mutation-modules.mjs'; console.log(MUTATION_MODULES.map((m) => m.name).join(' '))")
fi
for module in "${modules[@]}"; do
  echo "==> Stryker: $module"
  MUTATION_GROUP="$module" npx stryker run stryker.config.mjs
done
node scripts/mutation-report.mjs
