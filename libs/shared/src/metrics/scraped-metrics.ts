import { Counter, Gauge, type Registry } from 'prom-client';

/** One series of a scraped metric: its label values and its value now. */
export type Sample<L extends string> = readonly [labels: Partial<Record<L, string>>, value: number];

interface ScrapedMetric<L extends string> {
  registry: Registry;
  name: string;
  help: string;
  labelNames: readonly L[];
  /** Read at every scrape from the counters the service already keeps (collect-on-scrape: no second bookkeeping). */
  read: () => Iterable<Sample<L>> | Promise<Iterable<Sample<L>>>;
}

/**
 * A counter whose values are the service's own running totals, read when scraped. The series are rebuilt at each
 * scrape, so a label value that went away (a tenant deleted) goes away too; a service restart starts them at 0,
 * which Prometheus's rate() reads as a counter reset.
 */
export function scrapedCounter<L extends string>(metric: ScrapedMetric<L>): Counter<L> {
  const { read } = metric;
  return new Counter<L>({
    name: metric.name,
    help: metric.help,
    labelNames: metric.labelNames,
    registers: [metric.registry],
    async collect() {
      const samples = await read();
      this.reset();
      for (const [labels, value] of samples) this.inc(labels, Math.max(0, value));
    },
  });
}

/** A gauge read at every scrape (free memory, frames waiting, consumer lag). */
export function scrapedGauge<L extends string>(metric: ScrapedMetric<L>): Gauge<L> {
  const { read } = metric;
  return new Gauge<L>({
    name: metric.name,
    help: metric.help,
    labelNames: metric.labelNames,
    registers: [metric.registry],
    async collect() {
      const samples = await read();
      this.reset();
      for (const [labels, value] of samples) this.set(labels, value);
    },
  });
}

/** Samples of one numeric field per key of a record (`{ tenant-a: {...} }` to `[{ tenant: 'tenant-a' }, n]`). */
export function samplesByKey<L extends string, V>(
  label: L,
  records: Record<string, V> | ReadonlyMap<string, V>,
  value: (record: V) => number,
): Sample<L>[] {
  const entries: [string, V][] =
    records instanceof Map ? [...(records as ReadonlyMap<string, V>)] : Object.entries(records as Record<string, V>);
  return entries.map(([key, record]) => [{ [label]: key } as Partial<Record<L, string>>, value(record)]);
}
