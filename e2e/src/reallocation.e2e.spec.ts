import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestLab } from '@tenantlab/lab';
import {
  ensureTopics,
  parseReallocationDecision,
  type ReallocationDecisionMessage,
  requestJson,
  TOPICS,
} from '@tenantlab/shared';
import { findTraces, serviceOf, tag } from './jaeger-api';
import { eventually, labAdminRequest, labKafka, REPO_ROOT, startE2eLab, urlOf } from './lab-process';

/**
 * programs/flow-table.json keyed on the flow (source port) instead of the source address, `slots` entries per
 * register: the traffic generator's flows differ by source port.
 */
function flowTableBySourcePort(slots: number): Record<string, unknown> {
  const text = readFileSync(join(REPO_ROOT, 'programs', 'flow-table.json'), 'utf8').replaceAll('ipv4.src', 'l4.sport');
  const program = JSON.parse(text) as { registers: { size: number }[] } & Record<string, unknown>;
  delete program['$schema'];
  for (const register of program.registers) register.size = slots;
  return program;
}

/**
 * Seed 004's loop on the default lab (allocator in its default `live` mode): tenant A's flow table is far too small
 * for its traffic, the switch reports its utility per window, the allocator gives it more memory by a live decision,
 * the switch installs it while the frames flow, and every frame sent arrives.
 */
describe('seed 004 loop, live on the default lab', () => {
  let lab: TestLab;
  const url = (name: string): string => urlOf(lab.state, name);

  before(async () => {
    lab = await startE2eLab();
  });

  after(async () => {
    await lab?.stop();
  });

  it('grows a tenant below its utility target by a decision the switch installs mid-traffic, losing no frame, traced in Jaeger', async () => {
    const [a1, a2, sw, allocator] = ['vm-a1', 'vm-a2', 'switch', 'allocator'].map(url);
    const submitted = await requestJson<{ version: number }>('PUT', `${a1}/program`, {
      program: flowTableBySourcePort(64),
    });
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    await eventually('the switch to run the program', 30_000, async () => {
      const { body } = await labAdminRequest<{ programs: { version: number } }>('GET', `${sw}/dataplane`);
      return body.programs.version >= submitted.body.version ? true : undefined;
    });

    const decisions: ReallocationDecisionMessage[] = [];
    const kafka = labKafka(lab.state, 'e2e-reallocation');
    await ensureTopics(kafka, [TOPICS.reallocationDecisions]);
    const consumer = kafka.consumer({ groupId: `e2e-reallocation-${process.pid}-${Date.now()}`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: TOPICS.reallocationDecisions, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          const parsed = parseReallocationDecision(message.value);
          if (parsed.ok) decisions.push(parsed.value);
        },
      });
      assert.equal((await requestJson('DELETE', `${a2}/traffic/received`)).status, 204);
      // 2000 flows through 64 slots: most frames miss. 8 s of traffic spans several 2 s utility windows.
      const startedAt = Date.now();
      const generated = await requestJson<{ sent: number }>(
        'POST',
        `${a1}/traffic/generate`,
        { to: ['vm-a2'], protocol: 'udp', count: 24_000, size: 64, ratePps: 3000, flows: 2000, seed: 12 },
        120_000,
      );
      const endedAt = Date.now();
      assert.equal(generated.status, 201, JSON.stringify(generated.body));
      assert.equal(generated.body.sent, 24_000);

      const grown = await eventually('a live decision giving tenant A more memory', 30_000, () =>
        Promise.resolve(
          decisions.find(
            (d) =>
              d.mode === 'live' &&
              d.pipelineVersion !== null &&
              d.shares.some((s) => s.tenant === 'tenant-a' && s.utility < 0.9 && s.slotsAfter > s.slotsBefore),
          ),
        ),
      );
      assert.ok(grown.decidedAtMs > startedAt && grown.decidedAtMs < endedAt, 'decided while the frames flowed');
      const version = grown.pipelineVersion!;
      await eventually(`the switch to install pipeline version ${version}`, 30_000, async () => {
        const { body } = await labAdminRequest<{ programs: { version: number } }>('GET', `${sw}/dataplane`);
        return body.programs.version >= version ? true : undefined;
      });
      const share = grown.shares.find((s) => s.tenant === 'tenant-a')!;
      const { body: pipeline } = await labAdminRequest<{
        tenants: Record<string, { pageTable: Record<string, { amount: number }> }>;
      }>('GET', `${allocator}/pipeline`);
      assert.ok(
        Object.values(pipeline.tenants['tenant-a'].pageTable).every((entry) => entry.amount >= share.slotsAfter),
        `tenant A's registers hold its new share: ${JSON.stringify(pipeline.tenants['tenant-a'].pageTable)}`,
      );

      // No frame lost across the re-link: everything sent arrived.
      const received = await eventually('every frame at vm-a2', 30_000, async () => {
        const { body } = await requestJson<{ total: number }>('GET', `${a2}/traffic/received`);
        return body.total >= generated.body.sent ? body.total : undefined;
      }).catch(async (error: unknown) => {
        const { body } = await requestJson<{ total: number }>('GET', `${a2}/traffic/received`);
        throw new Error(`${String(error)}: ${body.total} of ${generated.body.sent} arrived`);
      });
      assert.equal(received, generated.body.sent);

      const { body: loop } = await eventually('the decision-to-installed latency measured', 30_000, async () => {
        const reply = await labAdminRequest<{ relinks: number; decisionToInstalledMs: { count: number; p99: number } }>(
          'GET',
          `${allocator}/reallocation`,
        );
        return reply.body.decisionToInstalledMs.count >= 1 ? reply : undefined;
      });
      assert.ok(loop.relinks >= 1);
      assert.ok(loop.decisionToInstalledMs.p99 < 5000, JSON.stringify(loop.decisionToInstalledMs));

      // The decision is a span in Jaeger, linked to the switch's report spans it used.
      const jaeger = url('jaeger');
      const decisionSpan = await eventually('the decision span in Jaeger', 60_000, async () => {
        const traces = await findTraces(jaeger, 'allocator', 'allocator.reallocate');
        for (const trace of traces) {
          const span = trace.spans.find(
            (s) => s.operationName === 'allocator.reallocate' && tag(s, 'tenantlab.pipeline.version') === version,
          );
          if (span) return { trace, span };
        }
        return undefined;
      });
      assert.equal(serviceOf(decisionSpan.trace, decisionSpan.span), 'allocator');
      const linked = decisionSpan.span.references.filter((r) => r.traceID !== decisionSpan.trace.traceID);
      assert.ok(
        linked.length >= 1,
        `the decision links to report spans: ${JSON.stringify(decisionSpan.span.references)}`,
      );
      const reportSpan = await eventually('a linked report span of the switch in Jaeger', 60_000, async () => {
        const traces = await findTraces(jaeger, 'switch', 'switch.utility-report');
        return traces
          .flatMap((trace) => trace.spans.map((span) => ({ trace, span })))
          .find(({ span }) => linked.some((r) => r.spanID === span.spanID));
      });
      assert.equal(serviceOf(reportSpan.trace, reportSpan.span), 'switch');
      assert.equal(tag(reportSpan.span, 'tenantlab.tenant.id'), 'tenant-a');
    } finally {
      await consumer.disconnect();
    }
  });
});
