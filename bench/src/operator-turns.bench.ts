import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { startServiceProcess, startTestRedis, type ServiceProcess } from '@tenantlab/lab';
import { randomBytes } from 'node:crypto';
import { requestJson, TENANT_OPERATOR_CALLS_IN_FLIGHT, TENANT_SECRET_HEADER, tokenSha256 } from '@tenantlab/shared';
import { publishReport, quantile } from './bench-report';
import { alternatingRounds, median } from './bench-rounds';

/** Calls the flooding VM keeps in flight, and each victim sample's shape. */
const FLOOD_IN_FLIGHT = 32;
const VICTIM_SAMPLES = 150;
const VICTIM_WARMUP = 30;
const ROUNDS = 4;
const ADMIN_TOKEN = randomBytes(24).toString('hex');
/** Turns off: more calls of a tenant at once than the flood ever sends, so no call ever waits for its turn. */
const TURNS_OFF = String(1_000_000);

const MODES = ['turns', 'no-turns'] as const;
type Mode = (typeof MODES)[number];

interface Vm {
  id: string;
  token: string;
}

/**
 * Issue 10, fairness at the operator: one VM keeps FLOOD_IN_FLIGHT calls (`GET /circuits`) in flight while a VM of
 * another tenant sets up and tears down circuits (`POST /circuits`, `DELETE /circuits/:id`, one pair at a time), on a
 * private Redis and an operator process of its own. Metric: the victim's pair latency with tenants taking turns (the
 * default TENANT_OPERATOR_CALLS_IN_FLIGHT); baseline: the same with turns off. The two alternate in rounds (a fresh
 * operator each), each after the same warm-up; each figure is the median over rounds of each round's percentile.
 * The flood runs in a worker thread, so the victim's client is not slowed by the flood's own JavaScript.
 */
export async function runOperatorTurnsBenchmark(): Promise<void> {
  console.log('==> starting a private Redis');
  const redis = await startTestRedis();
  try {
    const quietP50: Record<Mode, number[]> = { turns: [], 'no-turns': [] };
    const floodCalls: Record<Mode, number[]> = { turns: [], 'no-turns': [] };
    const p99: Record<Mode, number[]> = { turns: [], 'no-turns': [] };
    const p50 = await alternatingRounds(ROUNDS, MODES, async (mode, round) => {
      const operator = await startServiceProcess('operator', {
        REDIS_URL: redis.url,
        OPERATOR_ADMIN_TOKEN: ADMIN_TOKEN,
        ...(mode === 'no-turns' ? { TENANT_OPERATOR_CALLS_IN_FLIGHT: TURNS_OFF } : {}),
      });
      try {
        const flooder = await registerVm(operator, `flood-${round}-${mode}`, `tenant-flood-${round}-${mode}`);
        const victim = await registerVm(operator, `victim-${round}-${mode}`, `tenant-victim-${round}-${mode}`);
        await call(operator, 'POST', '/listeners', victim.token, { service: 'echo' }, 201);
        await victimPairs(operator, victim, VICTIM_WARMUP);
        const quiet = await victimPairs(operator, victim, VICTIM_SAMPLES);
        const flood = startFlood(operator.url, flooder.token);
        const loaded = await victimPairs(operator, victim, VICTIM_SAMPLES);
        const calls = await flood.stop();
        quietP50[mode].push(quantile(quiet, 0.5));
        p99[mode].push(quantile(loaded, 0.99));
        floodCalls[mode].push(calls);
        const figure = quantile(loaded, 0.5);
        console.log(
          `    round ${round + 1} ${mode.padEnd(8)} victim pair p50 ${figure.toFixed(1)} ms under flood ` +
            `(quiet ${quantile(quiet, 0.5).toFixed(1)} ms, p99 ${quantile(loaded, 0.99).toFixed(1)} ms); ` +
            `flood answered ${calls} calls`,
        );
        return figure;
      } finally {
        await operator.stop();
      }
    });
    const on = { p50: median(p50.turns), p99: median(p99.turns), quiet: median(quietP50.turns) };
    const off = { p50: median(p50['no-turns']), p99: median(p99['no-turns']), quiet: median(quietP50['no-turns']) };
    await publishReport({
      name: 'operator-turns',
      goals: {
        // Turns should leave the victim well under the wait behind a whole flood.
        victim_p50_no_turns_vs_turns: { atLeast: 2 },
      },
      setup: {
        flood: `one VM keeps ${FLOOD_IN_FLIGHT} GET /circuits in flight (a worker thread) while the victim measures`,
        victim: `${VICTIM_SAMPLES} POST /circuits + DELETE pairs to its own service, one at a time, after ${VICTIM_WARMUP} warm-up pairs`,
        turns: `TENANT_OPERATOR_CALLS_IN_FLIGHT ${TENANT_OPERATOR_CALLS_IN_FLIGHT} (default) vs ${TURNS_OFF} (off)`,
        rounds: `${ROUNDS}, modes alternating (turns, no-turns; then reversed), a fresh operator per run`,
        runs_p50_ms: MODES.map((mode) => `${mode} ${p50[mode].map((v) => v.toFixed(1)).join(', ')}`).join('; '),
        flood_calls_answered: MODES.map((mode) => `${mode} ${floodCalls[mode].join(', ')}`).join('; '),
      },
      metrics: {
        victim_pair_p50_ms_flood: round1(on.p50),
        victim_pair_p99_ms_flood: round1(on.p99),
        victim_pair_p50_ms_quiet: round1(on.quiet),
      },
      baseline: {
        victim_pair_p50_ms_flood: round1(off.p50),
        victim_pair_p99_ms_flood: round1(off.p99),
        victim_pair_p50_ms_quiet: round1(off.quiet),
      },
      ratios: {
        victim_p50_no_turns_vs_turns: round3(off.p50 / on.p50),
        victim_p99_no_turns_vs_turns: round3(off.p99 / on.p99),
        victim_p50_flood_vs_quiet: round3(on.p50 / on.quiet),
      },
    });
  } finally {
    await redis.stop();
  }
}

const round1 = (value: number): number => Math.round(value * 10) / 10;
const round3 = (value: number): number => Math.round(value * 1000) / 1000;

async function call<T>(
  operator: ServiceProcess,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  token: string,
  body: unknown,
  expected: number,
): Promise<T> {
  const answer = await requestJson<T>(method, `${operator.url}${path}`, body, 30_000, {
    authorization: `Bearer ${token}`,
  });
  if (answer.status !== expected) {
    throw new Error(`${method} ${path} answered ${answer.status}, not ${expected}: ${JSON.stringify(answer.body)}`);
  }
  return answer.body;
}

async function registerVm(operator: ServiceProcess, id: string, tenant: string): Promise<Vm> {
  const secret = randomBytes(16).toString('hex');
  await call(operator, 'POST', '/tenants', ADMIN_TOKEN, { id: tenant, secretSha256: tokenSha256(secret) }, 201);
  const answer = await requestJson<{ credentials: { token: string } }>(
    'POST',
    `${operator.url}/vms`,
    { id, tenant, url: 'http://127.0.0.1:9' },
    30_000,
    { [TENANT_SECRET_HEADER]: secret },
  );
  if (answer.status !== 201) throw new Error(`registering ${id} answered ${answer.status}`);
  return { id, token: answer.body.credentials.token };
}

/** `count` circuit set-ups and tear-downs of the victim, one at a time: each pair's time in ms. */
async function victimPairs(operator: ServiceProcess, victim: Vm, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    const circuit = await call<{ id: string }>(
      operator,
      'POST',
      '/circuits',
      victim.token,
      { target: `${victim.id}/echo`, mode: 'stream' },
      201,
    );
    await call(operator, 'DELETE', `/circuits/${circuit.id}`, victim.token, undefined, 204);
    times.push(performance.now() - start);
  }
  return times;
}

/** FLOOD_IN_FLIGHT loops of GET /circuits in a worker thread until stopped; how many were answered. */
function startFlood(url: string, token: string): { stop: () => Promise<number> } {
  const worker = new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads');
    const http = require('node:http');
    const agent = new http.Agent({ keepAlive: true });
    let stopping = false;
    let answered = 0;
    parentPort.on('message', () => (stopping = true));
    const one = () => new Promise((resolve) => {
      const req = http.get(workerData.url + '/circuits', { agent, headers: { authorization: 'Bearer ' + workerData.token } }, (res) => {
        res.resume();
        res.on('end', () => { answered += 1; resolve(); });
      });
      req.on('error', () => resolve());
    });
    const loop = async () => { while (!stopping) await one(); };
    Promise.all(Array.from({ length: workerData.inFlight }, loop)).then(() => {
      agent.destroy();
      parentPort.postMessage(answered);
    });
    `,
    { eval: true, workerData: { url, token, inFlight: FLOOD_IN_FLIGHT } },
  );
  return {
    stop: () =>
      new Promise<number>((resolve, reject) => {
        worker.once('message', (answered: number) => void worker.terminate().then(() => resolve(answered)));
        worker.once('error', reject);
        worker.postMessage('stop');
      }),
  };
}
