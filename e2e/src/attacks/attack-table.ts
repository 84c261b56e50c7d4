/** One attack a hostile tenant tried, what the lab should do, and what it did. */
export interface AttackRow {
  attack: string;
  expected: string;
  outcome: string;
  held: boolean;
}

/** Collects the suite's attacks and prints them as a Markdown table: attack | expected | outcome | held. */
export class AttackTable {
  private readonly rows: AttackRow[] = [];

  /** Records an attack and returns whether the defence held, so the caller asserts on it. */
  record(attack: string, expected: string, outcome: string, held: boolean): boolean {
    this.rows.push({ attack, expected, outcome: outcome.replace(/\s+/g, ' ').slice(0, 160), held });
    return held;
  }

  render(): string {
    const escape = (cell: string): string => cell.replace(/\|/g, '\\|');
    return [
      '| attack | expected | outcome | held |',
      '| --- | --- | --- | --- |',
      ...this.rows.map(
        (r) => `| ${escape(r.attack)} | ${escape(r.expected)} | ${escape(r.outcome)} | ${r.held ? 'yes' : 'NO'} |`,
      ),
    ].join('\n');
  }
}
