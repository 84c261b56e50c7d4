// The core modules `npm run mutation` mutates (issue 14), each with the files it mutates and the unit specs that test
// it. Stryker runs once per group (`group`, built from `package`), so each run's dry run covers only that group's specs
// and a finished group keeps its report and incremental file when a later one is stopped; the report scores each module.
const SHARED = 'libs/shared/src';
const SWITCH = 'services/switch/src';
const ALLOCATOR = 'services/allocator/src';
const PACKET_SPECS = [`${SHARED}/packet/*.spec.ts`];
const PROGRAM_SPECS = [`${SHARED}/program/*.spec.ts`];
const SWITCH_SPECS = [`${SWITCH}/programs/*.spec.ts`, `${SWITCH}/pipeline/*.spec.ts`];
const ALLOCATOR_SPECS = [`${ALLOCATOR}/memory/*.spec.ts`, `${ALLOCATOR}/reallocation/*.spec.ts`];

export const MUTATION_MODULES = [
  {
    name: 'packet_codec',
    group: 'packet',
    package: 'libs/shared',
    mutate: [`${SHARED}/packet/*.ts`, `!${SHARED}/packet/*.spec.ts`, `!${SHARED}/packet/index.ts`],
    specs: PACKET_SPECS,
  },
  {
    name: 'switch_pipeline',
    group: 'switch',
    package: 'services/switch',
    mutate: [`${SWITCH}/pipeline/*.ts`, `!${SWITCH}/pipeline/*.spec.ts`],
    specs: SWITCH_SPECS,
  },
  {
    name: 'cpu_budget',
    group: 'switch',
    package: 'services/switch',
    mutate: [`${SWITCH}/programs/tenant-cpu-budget.ts`],
    specs: SWITCH_SPECS,
  },
  {
    name: 'register_memory',
    group: 'switch',
    package: 'services/switch',
    mutate: [`${SWITCH}/programs/register-memory.ts`],
    specs: SWITCH_SPECS,
  },
  {
    // The validator and the helpers it judges documents with; program.constants.ts and program-fields.ts are data
    // tables (names, limits) and program.types.ts has no code.
    name: 'program_validator',
    group: 'validator',
    package: 'libs/shared',
    mutate: [
      `${SHARED}/program/program.validator.ts`,
      `${SHARED}/program/document-reader.ts`,
      `${SHARED}/program/program-widths.ts`,
      `${SHARED}/program/linked-pipeline.ts`,
    ],
    specs: PROGRAM_SPECS,
  },
  {
    name: 'program_compiler',
    group: 'compiler',
    package: 'services/switch',
    mutate: [`${SWITCH}/programs/program-compiler.ts`],
    specs: SWITCH_SPECS,
  },
  {
    name: 'allocator_memory',
    group: 'allocator',
    package: 'services/allocator',
    mutate: [
      `${ALLOCATOR}/memory/*.ts`,
      `!${ALLOCATOR}/memory/*.spec.ts`,
      `${ALLOCATOR}/reallocation/*.ts`,
      `!${ALLOCATOR}/reallocation/*.spec.ts`,
    ],
    specs: ALLOCATOR_SPECS,
  },
];
