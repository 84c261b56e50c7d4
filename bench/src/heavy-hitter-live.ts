import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  seedVmRegistry,
  type ServiceProcess,
  startServiceProcess,
  startTestKafka,
  startTestRedis,
  type TestKafka,
  type TestRedis,
  testAdminHeaders,
} from '@tenantlab/lab';
import {
  ensureTopics,
  parseReallocationDecision,
  parseUtilityReport,
  PORT_ENTRY_FIELDS,
  PORT_KEYS,
  portEntryContent,
  type ReallocationDecisionMessage,
  requestJson,
  TOPICS,
  type UtilityReportMessage,
} from '@tenantlab/shared';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { makeTenants, TENANTS, WINDOWS, windowTraffic } from './allocation.bench';
import { CELLS_PER_SLOT, CELLS_PER_STAGE, PACKING_SLACK, STAGES } from './allocation-switch';
import { quantile } from './bench-report';

const REPO_ROOT = join(__dirname, '..', '..');
/** Frames written per round trip, across all tenants; each port gets far fewer than its capacity (8192). */
const CHUNK = 4096;

export interface HeavyHitterLiveOptions {
  /** Tenants (at most 64, the in-process experiment's population; their traffic is the same). */
  tenants: number;
  seed: number;
  /** The switch's utility window: long enough for one window's traffic to be sent and forwarded. */
  windowMs: number;
  mode: 'static' | 'live';
  /** Progress lines. */
  log: (line: string) => void;
}

export interface HeavyHitterLiveRun {
  mode: 'static' | 'live';
  /** utility[tenant][window], from the switch's reports of the windows that carried the traffic. */
  utility: number[][];
  satisfaction: number[];
  framesSent: number;
  framesDelivered: number;
  /** Pipeline versions the allocator committed and the switch installed, one per live decision that changed shares. */
  relinks: number;
  /** Decision committed → switch installed, per re-link (ms). */
  decisionToInstalledMs: number[];
  /** Windows whose reports did not count exactly the frames sent in them (traffic straddled a window boundary). */
  straddledWindows: number;
  /** Resident memory of the switch and the allocator at the end (KiB, from /proc). */
  switchRssKiB: number;
  allocatorRssKiB: number;
}

function flowTable(slots: number): Record<string, unknown> {
  const program = JSON.parse(readFileSync(join(REPO_ROOT, 'programs', 'flow-table.json'), 'utf8')) as {
    registers: { size: number }[];
  } & Record<string, unknown>;
  delete program['$schema'];
  for (const register of program.registers) register.size = slots;
  return program;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function rssKiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * Seed 004's heavy-hitter experiment on the running services: a real switch and allocator (processes) on a real Redis
 * and Kafka, `tenants` tenants each running programs/flow-table.json on an equal share of the register memory, and
 * each window the in-process `allocation` benchmark's traffic for that window (same seed: same flows, same swing)
 * written into each tenant's VM tx stream as its vNIC would, forwarded by the switch to the tenant's other VM. The
 * switch reports each tenant's hit ratio per window (UTILITY_WINDOW_RESET on: every window one detection interval
 * from an empty table, as the in-process model has it); in live mode the allocator re-links after every window and
 * the next window's traffic starts once the switch installed the new linking, in static mode it starts once the
 * (unchanged) decision is out, the same wait. A function, so a scenario runner can call it.
 */
export async function runHeavyHitterLive(options: HeavyHitterLiveOptions): Promise<HeavyHitterLiveRun> {
  const { log } = options;
  const tenants = makeTenants(options.seed).slice(0, options.tenants);
  const n = tenants.length;
  // The in-process experiment's memory per tenant: its capacity scaled to the tenants here.
  const cellsPerStage = Math.round((CELLS_PER_STAGE * n) / TENANTS);
  const share = Math.floor(Math.floor((STAGES * cellsPerStage * PACKING_SLACK) / CELLS_PER_SLOT) / n);
  let redis: TestRedis | undefined;
  let kafka: TestKafka | undefined;
  let switchProcess: ServiceProcess | undefined;
  let allocator: ServiceProcess | undefined;
  let admin: Redis | undefined;
  const stops: (() => Promise<void>)[] = [];
  try {
    [redis, kafka] = await Promise.all([startTestRedis({ maxMemory: '2gb' }), startTestKafka()]);
    admin = new Redis(redis.url);
    await seedVmRegistry(
      admin,
      Object.fromEntries(tenants.flatMap((tenant) => tenant.ports.map((port) => [port.vm, tenant.name]))),
    );
    const resources = {
      REDIS_URL: redis.url,
      KAFKA_BROKERS: kafka.brokers,
      SWITCH_STAGES: String(STAGES),
      REGISTER_CELLS_PER_STAGE: String(cellsPerStage),
    };
    const client = new Kafka({ clientId: 'bench-hh-live', brokers: [kafka.brokers], logLevel: logLevel.NOTHING });
    await ensureTopics(client, [TOPICS.utilityReports, TOPICS.reallocationDecisions]);
    const reports = new Map<number, Map<string, UtilityReportMessage>>();
    const decisions = new Map<number, ReallocationDecisionMessage>();
    const consumer = client.consumer({ groupId: `bench-hh-live-${process.pid}-${Date.now()}`, maxWaitTimeInMs: 50 });
    stops.push(() => consumer.disconnect());
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.connect();
    await consumer.subscribe({ topics: [TOPICS.utilityReports, TOPICS.reallocationDecisions], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        if (topic === TOPICS.utilityReports) {
          const parsed = parseUtilityReport(message.value);
          if (!parsed.ok) return;
          const window = reports.get(parsed.value.window) ?? new Map<string, UtilityReportMessage>();
          window.set(parsed.value.tenant, parsed.value);
          reports.set(parsed.value.window, window);
        } else {
          const parsed = parseReallocationDecision(message.value);
          if (parsed.ok) decisions.set(parsed.value.window, parsed.value);
        }
      },
    });
    await joined;

    switchProcess = await startServiceProcess('switch', {
      ...resources,
      UTILITY_WINDOW_MS: String(options.windowMs),
      UTILITY_WINDOW_RESET: 'true',
      TRACE_SAMPLING_RATE: '0',
      PORT_SCAN_INTERVAL_MS: '200',
      SWITCH_BATCH: '1024',
      // The experiment is about memory, not CPU: no tenant waits for its CPU share.
      PROGRAM_CPU_NS_PER_SECOND: '1000000000000',
      PROGRAM_CPU_BURST_NS: '1000000000000',
    });
    allocator = await startServiceProcess('allocator', {
      ...resources,
      ALLOCATOR_REALLOCATION: options.mode,
      REALLOCATION_SETTLE_MS: '200',
      SWITCH_OPS_PER_PACKET: '1000000',
    });
    const sw = switchProcess;
    const call = async <T>(method: 'GET' | 'PUT', url: string, body?: unknown): Promise<T> => {
      const reply = await requestJson<T>(method, url, body, 30_000, testAdminHeaders());
      if (reply.status >= 300) throw new Error(`${method} ${url}: HTTP ${reply.status} ${JSON.stringify(reply.body)}`);
      return reply.body;
    };
    log(`${options.mode}: ${n} tenants, ${share} slots each, window ${options.windowMs} ms`);
    for (const tenant of tenants) {
      await call('PUT', `${allocator.url}/tenants/${tenant.name}/program`, {
        vms: tenant.ports.map((port) => port.vm),
        program: flowTable(share),
      });
    }
    const installedVersion = async (): Promise<number> =>
      (await call<{ programs: { version: number } }>('GET', `${sw.url}/dataplane`)).programs.version;
    await until('the switch to run every program and attach every port', 120_000, async () => {
      const shown = await call<{ ports: unknown[]; programs: { version: number } }>('GET', `${sw.url}/dataplane`);
      return shown.programs.version >= n && shown.ports.length === 2 * n ? true : undefined;
    });
    const complete = (window: number): boolean => (reports.get(window)?.size ?? 0) === n;
    // A window that closed with every program installed: the loop starts at its end.
    let window = await until('a first full window of reports', 10 * options.windowMs, () =>
      Promise.resolve(
        [...reports.keys()].find(
          (w) => complete(w) && (reports.get(w)?.values().next().value?.pipelineVersion ?? 0) >= n,
        ),
      ),
    );
    const utility = tenants.map(() => [] as number[]);
    let framesSent = 0;
    let framesDelivered = 0;
    let straddledWindows = 0;
    const receivers = tenants.map((tenant) => tenant.ports[1].vm);
    for (let w = 0; w < WINDOWS; w++) {
      // The decision on the last window, installed (live) or published (static): the same wait in both modes. The
      // first window had no traffic, so no decision.
      const decision =
        w === 0
          ? undefined
          : await until(`the decision on window ${window}`, 10 * options.windowMs, () =>
              Promise.resolve(decisions.get(window)),
            );
      if (decision && decision.pipelineVersion !== null) {
        const version = decision.pipelineVersion;
        await until(`pipeline version ${version} installed`, 10 * options.windowMs, async () =>
          (await installedVersion()) >= version ? true : undefined,
        );
      }
      const traffic = windowTraffic(tenants, w, options.seed);
      const perTenant = new Map<string, number>();
      // Frames in the receivers' rx, not entries: the switch packs a destination's frames of one batch (issue 11).
      const rx = async (): Promise<number> => {
        const streams = admin!.pipeline();
        for (const vm of receivers) streams.xrangeBuffer(PORT_KEYS.rx(vm), '-', '+');
        let frames = 0;
        for (const [, entries] of (await streams.exec()) ?? []) {
          for (const [, fields] of entries as [Buffer, Buffer[]][]) frames += portEntryContent(fields).frames.length;
        }
        return frames;
      };
      let delivered = 0;
      // A chunk at a time, as vNICs that stop at their ports' capacity would: the next chunk goes once this one has
      // arrived (or was given up on), and the rx streams are emptied, as the receiving VMs read them.
      for (let at = 0; at < traffic.length; at += CHUNK) {
        const chunk = traffic.slice(at, at + CHUNK);
        const batch = admin.pipeline();
        for (const { port, frame } of chunk) {
          batch.xadd(PORT_KEYS.tx(port.vm), '*', PORT_ENTRY_FIELDS.frame, frame);
          perTenant.set(port.tenant, (perTenant.get(port.tenant) ?? 0) + 1);
        }
        await batch.exec();
        const arrived = await until(`window ${w}'s frames delivered`, 30_000, async () => {
          const count = await rx();
          return count >= chunk.length ? count : undefined;
        }).catch(() => rx());
        delivered += arrived;
        const trim = admin.pipeline();
        for (const vm of receivers) trim.xtrim(PORT_KEYS.rx(vm), 'MAXLEN', 0);
        await trim.exec();
      }
      framesSent += traffic.length;
      framesDelivered += delivered;
      const next = window + 1;
      await until(`the reports of window ${next}`, 10 * options.windowMs, () =>
        Promise.resolve(complete(next) ? true : undefined),
      );
      const windowReports = reports.get(next)!;
      let straddled = false;
      tenants.forEach((tenant, t) => {
        const report = windowReports.get(tenant.name)!;
        utility[t].push(report.utility);
        if (report.packets !== (perTenant.get(tenant.name) ?? 0)) straddled = true;
      });
      if (straddled) straddledWindows += 1;
      const satisfied = tenants.filter((_, t) => utility[t][w] > 0.9).length;
      log(
        `  window ${w + 1}/${WINDOWS}: ${traffic.length} frames, ${delivered} delivered, ${satisfied}/${n} satisfied` +
          `${straddled ? ' (straddled a window boundary)' : ''}`,
      );
      window = next;
    }
    // Decision-to-installed per re-link: the switch's install time from the reports that ran under each version.
    const installedAt = new Map<number, number>();
    for (const byTenant of reports.values()) {
      for (const report of byTenant.values()) installedAt.set(report.pipelineVersion, report.installedAtMs);
    }
    const relinked = [...decisions.values()].filter((d) => d.pipelineVersion !== null);
    const latencies = relinked.flatMap((d) => {
      const at = installedAt.get(d.pipelineVersion!);
      return at === undefined ? [] : [Math.max(0, at - d.decidedAtMs)];
    });
    return {
      mode: options.mode,
      utility,
      satisfaction: utility.map((windows) => windows.filter((u) => u > 0.9).length / windows.length),
      framesSent,
      framesDelivered,
      relinks: relinked.length,
      decisionToInstalledMs: latencies,
      straddledWindows,
      switchRssKiB: rssKiB(switchProcess.pid),
      allocatorRssKiB: rssKiB(allocator.pid),
    };
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    await allocator?.stop();
    await switchProcess?.stop();
    admin?.disconnect();
    await Promise.all([redis?.stop(), kafka?.stop()]);
  }
}

/** Satisfaction figures of one run, as the issue names them. */
export function satisfactionFigures(run: Pick<HeavyHitterLiveRun, 'satisfaction'>): { mean: number; p5: number } {
  const mean = run.satisfaction.reduce((a, b) => a + b, 0) / run.satisfaction.length;
  return { mean, p5: quantile(run.satisfaction, 0.05) };
}
