// The core modules `npm run mutation` mutates (issue 14): per module, the package tsc builds, the files Stryker mutates
// and the module's own unit specs that judge the mutants. Stryker runs once per module (stryker.config.mjs reads
// MUTATION_GROUP), so each run's dry run covers only that module's specs, a mutant runs only the spec files that reach
// it, and a finished module keeps its report and incremental file when a later one is stopped.
//
// Specs are chosen per module rather than "every spec of the package": a switch spec loads all of @tenantlab/shared
// (about a second of CPU per process), and a surviving mutant runs every spec file that reaches it, so letting the
// whole switch suite judge register memory made that module alone take hours on 2 cores.
const SHARED = 'libs/shared/src';
const SWITCH = 'services/switch/src';
const ALLOCATOR = 'services/allocator/src';

export const MUTATION_MODULES = [
  {
    name: 'packet_codec',
    package: 'libs/shared',
    mutate: [`${SHARED}/packet/*.ts`, `!${SHARED}/packet/*.spec.ts`, `!${SHARED}/packet/index.ts`],
    specs: [`${SHARED}/packet/*.spec.ts`],
  },
  {
    name: 'switch_pipeline',
    package: 'services/switch',
    mutate: [`${SWITCH}/pipeline/*.ts`, `!${SWITCH}/pipeline/*.spec.ts`],
    specs: [`${SWITCH}/pipeline/*.spec.ts`],
  },
  {
    name: 'cpu_budget',
    package: 'services/switch',
    mutate: [`${SWITCH}/programs/tenant-cpu-budget.ts`],
    specs: [`${SWITCH}/programs/tenant-cpu-budget*.spec.ts`, `${SWITCH}/pipeline/tenant-dispatch.spec.ts`],
  },
  {
    // Register memory and the page table entries every access goes through.
    name: 'register_memory',
    package: 'services/switch',
    mutate: [`${SWITCH}/programs/register-memory.ts`],
    specs: [`${SWITCH}/programs/register-memory*.spec.ts`, `${SWITCH}/programs/program-isolation.spec.ts`],
  },
  {
    // The validator and the helpers it judges documents with; program.constants.ts and program-fields.ts are data
    // tables (names, limits) and program.types.ts has no code.
    name: 'program_validator',
    package: 'libs/shared',
    mutate: [
      `${SHARED}/program/program.validator.ts`,
      `${SHARED}/program/document-reader.ts`,
      `${SHARED}/program/program-widths.ts`,
      `${SHARED}/program/linked-pipeline.ts`,
    ],
    specs: [`${SHARED}/program/*.spec.ts`],
  },
  {
    name: 'program_compiler',
    package: 'services/switch',
    mutate: [`${SWITCH}/programs/program-compiler.ts`],
    specs: [
      'program-compiler',
      'program-compiler-values',
      'program-isolation',
      'program-code-sharing',
      'program-table-routes',
      'flow-table',
      'heavy-hitter',
    ].map((spec) => `${SWITCH}/programs/${spec}.spec.ts`),
  },
  {
    name: 'allocator_memory',
    package: 'services/allocator',
    mutate: [
      `${ALLOCATOR}/memory/*.ts`,
      `!${ALLOCATOR}/memory/*.spec.ts`,
      `${ALLOCATOR}/reallocation/*.ts`,
      `!${ALLOCATOR}/reallocation/*.spec.ts`,
    ],
    specs: [`${ALLOCATOR}/memory/*.spec.ts`, `${ALLOCATOR}/reallocation/*.spec.ts`],
  },
];
