import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { LabState } from '@tenantlab/lab';
import { buildFrame, PORT_ENTRY_FIELDS, PORT_KEYS, requestJson, TOPICS, vmMacAddress } from '@tenantlab/shared';
import { Redis } from 'ioredis';
import { type JaegerTrace, tag } from './jaeger-api';
import { eventually, labAdminRequest, labKafka, urlOf } from './lab-process';

interface TraceRecord {
  value: { traceId?: string; verdict?: string; dropReason?: string; malformedReason?: string; inPort?: string };
  traceparent: string | undefined;
}

function parseRecord(text: string): TraceRecord['value'] | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Issue 11, traces that tell the truth: vm-a1 sends a malformed frame (its IPv4 checksum broken) in a trace of its
 * own, written to its tx stream as its vNIC writes it; the switch samples it. Its record on `switch.packet-traces`
 * names the parser's reason, and that record's `traceparent` header is in the sender's trace (not in the trace of
 * the switch's publish); in Jaeger its `switch.forward` span carries the parser's reason too.
 */
export async function checkMalformedFrameTrace(state: LabState, redisAdminPassword: string): Promise<void> {
  const sw = urlOf(state, 'switch');
  const traceId = randomBytes(16).toString('hex');
  const traceparent = `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
  const frame = buildFrame({
    srcMac: vmMacAddress('vm-a1'),
    dstMac: vmMacAddress('vm-a2'),
    ipv4: { src: '10.0.0.1', dst: '10.0.0.2' },
    udp: { srcPort: 4000, dstPort: 4001 },
    payload: Buffer.from('malformed on purpose'),
  });
  frame[14 + 10] ^= 0xff; // the IPv4 header checksum

  const records: TraceRecord[] = [];
  const consumer = labKafka(state, 'e2e-trace-truth').consumer({ groupId: `e2e-trace-truth-${traceId}` });
  const redisUrl = new URL(urlOf(state, 'redis'));
  redisUrl.password = redisAdminPassword;
  const redis = new Redis(redisUrl.toString());
  const sampling = async (rate: number): Promise<void> =>
    assert.equal((await labAdminRequest('PUT', `${sw}/tenants/tenant-a/sampling`, { rate })).status, 200);
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: TOPICS.packetTraces, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        // The topic also holds what other tests put there, garbage included (read from the beginning): skip it.
        const value = parseRecord(message.value?.toString() ?? '');
        if (value?.traceId === traceId)
          records.push({ value, traceparent: message.headers?.['traceparent']?.toString() });
      },
    });
    await sampling(1);
    await redis.xadd(PORT_KEYS.tx('vm-a1'), '*', PORT_ENTRY_FIELDS.frame, frame, 'otel.traceparent', traceparent);
    const [record] = await eventually('the malformed frame traced on Kafka', 30_000, async () =>
      records.length > 0 ? records : undefined,
    );
    // One comparison, so a failure shows every part that is wrong: the parser reason, and the header's trace.
    assert.deepEqual(
      {
        inPort: record.value.inPort,
        verdict: record.value.verdict,
        dropReason: record.value.dropReason,
        malformedReason: record.value.malformedReason,
        headerTraceId: record.traceparent?.split('-')[1],
      },
      {
        inPort: 'vm-a1',
        verdict: 'drop',
        dropReason: 'malformed',
        malformedReason: 'ipv4-bad-checksum',
        headerTraceId: traceId,
      },
    );
  } finally {
    await sampling(0.01);
    await consumer.disconnect();
    redis.disconnect();
  }

  const jaeger = urlOf(state, 'jaeger');
  const forward = await eventually("the frame's switch.forward span in Jaeger", 60_000, async () => {
    const { status, body } = await requestJson<{ data?: JaegerTrace[] }>('GET', `${jaeger}/api/traces/${traceId}`);
    return status === 200 ? body.data?.[0]?.spans.find((s) => s.operationName === 'switch.forward') : undefined;
  });
  assert.equal(tag(forward, 'tenantlab.switch.drop_reason'), 'malformed');
  assert.equal(tag(forward, 'tenantlab.switch.malformed_reason'), 'ipv4-bad-checksum');
}
