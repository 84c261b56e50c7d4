import type { Scenario } from './scenario';

/** What the head of a scenario report says about its run. */
export interface ReportedRun {
  scenario: Scenario;
  source: string;
  seed: number;
  mode: 'local' | 'docker';
  startedAt: string;
  failures: readonly string[];
}

/**
 * The head of a scenario report (one run's or a comparison's): title, description, then the run as a list (source,
 * seed, mode, start, each of `facts`, and whether it passed).
 */
export function reportHead(run: ReportedRun, facts: readonly string[]): string[] {
  return [
    `# Scenario ${run.scenario.name}`,
    '',
    run.scenario.description ?? '',
    '',
    `- source: \`${run.source}\`, seed **${run.seed}**, mode ${run.mode}, started ${run.startedAt}`,
    ...facts.map((fact) => `- ${fact}`),
    `- result: ${run.failures.length === 0 ? '**passed**' : `**failed**: ${run.failures.join('; ')}`}`,
    '',
  ];
}

/** A Markdown table; a `|` inside a cell is escaped. */
export function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]): string =>
    `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A figure in a table cell: 'n/a' where it was not measured. */
export function cell(value: number | null | undefined): string | number {
  return value === null || value === undefined ? 'n/a' : value;
}
