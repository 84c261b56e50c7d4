import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { labDataDir, readAdminToken, type TestLab } from '@tenantlab/lab';
import {
  createKafkaClient,
  type JsonResponse,
  JsonLogger,
  requestJson,
  serviceAuthHeaders,
  TOPICS,
  vmIpv4Address,
  vmMacAddress,
} from '@tenantlab/shared';
import { checkDashboardServed } from './dashboard-served';
import { findTraces, isRedisSpan, type JaegerSpan, type JaegerTrace, parentOf, serviceOf, tag } from './jaeger-api';
import { eventually, REPO_ROOT, urlOf } from './lab-process';

/**
 * A generation answers once every frame is written: thousands of frames from a container on a loaded 2-core machine
 * take seconds, and the behaviour under test is what the frames do, not how fast the call returns.
 */
const GENERATE_TIMEOUT_MS = 30_000;

export const DEFAULT_LAB_VMS = { 'vm-a1': 'tenant-a', 'vm-a2': 'tenant-a', 'vm-b1': 'tenant-b', 'vm-b2': 'tenant-b' };

export interface LabSuiteOptions {
  /** Kills a VM as a crash would (SIGKILL, `docker kill`), and has it started again where the lab does not. */
  vmCrash: { kill(vm: string): Promise<void>; start(vm: string): Promise<void> };
}

/**
 * The checks of the default lab that matter in both modes, one body for both: e2e/src/lab-behaviours.e2e.spec.ts
 * runs it on a local lab (startTestLab, mode local), e2e/src/containers/lab.containers.spec.ts on the lab in
 * containers (mode docker). Call it inside a describe whose `before` started the lab; `lab()` hands it over. Only
 * HTTP, Kafka (the lab's host listener) and Jaeger's query API: nothing of how the lab runs. The packet test reads
 * the packet trace topic from its beginning, so it must see the first sampled frames: register this suite before
 * any other test sends vNIC frames.
 */
export function describeLabSuite(lab: () => TestLab, options: LabSuiteOptions): void {
  describe(`the default lab's circuits, packet path, programs and traces`, () => {
    const url = (name: string): string => urlOf(lab().state, name);
    /** A call to a guarded service (switch, telemetry) with the lab's admin token, as its admin tools make it. */
    const admin = <T = unknown>(method: 'GET' | 'PUT', target: string, body?: unknown): Promise<JsonResponse<T>> => {
      const token = readAdminToken(labDataDir(REPO_ROOT, lab().state.profile));
      if (token === undefined) throw new Error(`lab ${lab().state.profile} has no admin token`);
      return requestJson<T>(method, target, body, 10_000, serviceAuthHeaders(token));
    };

    it('serves the dashboard from telemetry: the page, and live snapshots every poll with every source answering', () =>
      checkDashboardServed(url('telemetry'), lab().state.profile, DEFAULT_LAB_VMS));

    it('lists each tenant VM in the operator registry, alive, under its tenant', async () => {
      // With this lab's own admin token (the suite runs on the e2e lab and on the containers tier's).
      const { status, body } = await admin<{ vms: { id: string; tenant: string; alive: boolean }[] }>(
        'GET',
        `${url('operator')}/vms`,
      );
      assert.equal(status, 200);
      const seen = Object.fromEntries(body.vms.filter((vm) => vm.alive).map((vm) => [vm.id, vm.tenant]));
      assert.deepEqual(seen, DEFAULT_LAB_VMS);
    });

    it('records one Jaeger trace from a VM registering through the operator into Redis, with correct parent links', async () => {
      const trace = await eventually('a vm.register trace spanning tenant-vm, operator and Redis', 30_000, async () => {
        const traces = await findTraces(url('jaeger'), 'tenant-vm', 'vm.register');
        return traces.find((t) => {
          const services = new Set(t.spans.map((s) => serviceOf(t, s)));
          return services.has('operator') && t.spans.some((s) => isRedisSpan(s));
        });
      });
      const root = trace.spans.find((s) => s.operationName === 'vm.register');
      assert.ok(root, 'the trace has the vm.register span');
      assert.equal(serviceOf(trace, root), 'tenant-vm');
      assert.equal(parentOf(trace, root), undefined, 'vm.register is the root');

      // The operator's server span is a child of the VM's HTTP client span, which is a child of vm.register.
      const serverSpan = trace.spans.find(
        (s) => serviceOf(trace, s) === 'operator' && tag(s, 'span.kind') === 'server',
      );
      assert.ok(serverSpan, 'the operator has a server span in the trace');
      const clientSpan = parentOf(trace, serverSpan);
      assert.ok(clientSpan, 'the server span has its parent in the trace');
      assert.equal(serviceOf(trace, clientSpan), 'tenant-vm');
      assert.equal(tag(clientSpan, 'span.kind'), 'client');
      assert.equal(parentOf(trace, clientSpan)?.spanID, root.spanID);

      // Every Redis command the operator ran descends from that server span.
      const redisSpans = trace.spans.filter((s) => isRedisSpan(s));
      assert.ok(redisSpans.length > 0);
      for (const span of redisSpans) {
        assert.equal(serviceOf(trace, span), 'operator');
        let ancestor = parentOf(trace, span);
        while (ancestor && ancestor.spanID !== serverSpan.spanID) ancestor = parentOf(trace, ancestor);
        assert.equal(
          ancestor?.spanID,
          serverSpan.spanID,
          `${span.operationName} descends from the operator's server span`,
        );
      }
    });

    it('echoes over a policy-checked circuit between two VMs of a tenant, refuses one across tenants, and traces the setup VM to operator to VM', async () => {
      const [a1, a2, b1] = ['vm-a1', 'vm-a2', 'vm-b1'].map(url);
      assert.equal((await requestJson('POST', `${a2}/workloads/echo`, { service: 'echo' })).status, 201);
      const sent = await requestJson<{ verified: boolean; problem?: string; circuit: string }>(
        'POST',
        `${a1}/workloads/send`,
        { target: 'vm-a2/echo', mode: 'stream', count: 1000, size: 512 },
        60_000,
      );
      assert.equal(sent.status, 201, JSON.stringify(sent.body));
      assert.equal(sent.body.verified, true, sent.body.problem);
      const denied = await requestJson<{ error: { code: string } }>('POST', `${b1}/workloads/send`, {
        target: 'vm-a2/echo',
        mode: 'datagram',
        count: 1,
        size: 16,
      });
      assert.equal(denied.status, 403);
      assert.equal(denied.body.error.code, 'POLICY_DENIED');

      // vm-a2 learns of the circuit from its inbox; that span continues the trace of vm-a1's connect request. Spans
      // reach Jaeger from three processes at their own pace, so wait for a trace whose chain is complete. The circuit's
      // teardown (DELETE /circuits/:id) also reaches vm-a2's inbox, in a trace of its own: the one wanted is the
      // connect's, whose chain holds the operator's POST /circuits (taking the first vm.inbox trace found took the
      // teardown's in one CI run), and whose chain ends at a root span: a chain ending at the operator's span only means
      // vm-a1's root span had not reached Jaeger yet (seen in a CI run: the trace's top was the operator's).
      const chainOf = (t: JaegerTrace): JaegerSpan[] => {
        const chain: JaegerSpan[] = [];
        const inbox = t.spans.find((s) => s.operationName === 'vm.inbox');
        for (let span = inbox; span; span = parentOf(t, span)) chain.push(span);
        return chain;
      };
      const isConnect = (t: JaegerTrace, span: JaegerSpan): boolean =>
        serviceOf(t, span) === 'operator' && tag(span, 'http.route') === '/circuits';
      const trace = await eventually('a connect traced from vm-a1 through the operator to vm-a2', 30_000, async () => {
        const traces = await findTraces(url('jaeger'), 'tenant-vm', 'vm.inbox');
        return traces.find((t) => {
          const chain = chainOf(t);
          const top = chain.at(-1);
          const rooted = top !== undefined && !top.references.some((r) => r.refType === 'CHILD_OF');
          return rooted && chain.some((span) => isConnect(t, span));
        });
      });
      const services = chainOf(trace).map((s) => serviceOf(trace, s));
      assert.equal(services[0], 'tenant-vm', 'vm.inbox is recorded by the listening VM');
      assert.ok(services.includes('operator'), `vm.inbox descends from the operator: ${services.join(' <- ')}`);
      assert.equal(services.at(-1), 'tenant-vm', 'the trace starts in the connecting VM');
    });

    it('carries frames VM to switch to VM within a tenant, never across, and samples packet traces into Kafka', async () => {
      const [a1, a2, b1, sw] = ['vm-a1', 'vm-a2', 'vm-b1', 'switch'].map(url);
      interface Received {
        total: number;
        bySource: Record<string, { received: number; duplicates: number; gaps: number; outOfOrder: number }>;
      }
      interface Dataplane {
        counters: { ports: Record<string, { rxFrames: number } | undefined> };
        traces: { published: number; dropped: number; queued: number; sending: number };
      }
      const dataplane = async (): Promise<Dataplane> => (await admin<Dataplane>('GET', `${sw}/dataplane`)).body;
      const put = async (tenant: string, rate: number): Promise<void> => {
        const { status } = await admin('PUT', `${sw}/tenants/${tenant}/sampling`, { rate });
        assert.equal(status, 200);
      };
      await put('tenant-a', 0.5);
      await put('tenant-b', 0);
      const traces: { inPort: string; tenant: string; verdict: string; headers: { srcMac: string } }[] = [];
      const kafka = createKafkaClient(
        'e2e-traces',
        [lab().clients.kafkaBrokers],
        new JsonLogger('e2e', 'error'),
        lab().clients.kafkaCredentials,
      );
      const consumer = kafka.consumer({ groupId: `e2e-traces-${process.pid}-${Date.now()}` });
      await consumer.connect();
      try {
        // The lab's Kafka starts empty and this is the first test to send frames, so from the beginning it sees its
        // traces and nothing else.
        await consumer.subscribe({ topic: TOPICS.packetTraces, fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ message }) => {
            traces.push(JSON.parse(message.value?.toString() ?? '{}') as (typeof traces)[number]);
          },
        });
        for (const vm of [a2, b1]) assert.equal((await requestJson('DELETE', `${vm}/traffic/received`)).status, 204);
        const count = 2000;
        const sent = await requestJson<{ sent: number }>(
          'POST',
          `${a1}/traffic/generate`,
          {
            to: ['vm-a2'],
            protocol: 'udp',
            count,
            size: 128,
          },
          GENERATE_TIMEOUT_MS,
        );
        assert.equal(sent.status, 201, JSON.stringify(sent.body));
        const received = await eventually(`${count} frames at vm-a2`, 30_000, async () => {
          const { body } = await requestJson<Received>('GET', `${a2}/traffic/received`);
          return body.total >= count ? body : undefined;
        });
        const fromA1 = Object.values(received.bySource);
        assert.equal(fromA1.length, 1);
        assert.deepEqual(fromA1[0] && { ...fromA1[0], perFlow: undefined, flows: undefined }, {
          received: count,
          duplicates: 0,
          gaps: 0,
          outOfOrder: 0,
          perFlow: undefined,
          flows: undefined,
        });

        // Every frame has been decided by now. Sampled at 0.5, the number traced is binomial (sd 22 for 2000
        // frames); each sampled trace is published (or, if Kafka faltered, dropped and counted), and every published
        // one is in Kafka. Nothing queued or being sent means the publisher has flushed them all.
        const stats = await eventually('every sampled trace flushed and consumed', 30_000, async () => {
          const { traces: now } = await dataplane();
          const flushed = now.queued === 0 && now.sending === 0;
          return flushed && now.published > 0 && traces.length === now.published ? now : undefined;
        });
        const sampled = stats.published + stats.dropped;
        assert.ok(Math.abs(sampled - count / 2) < 5 * 23, `${sampled} of ${count} frames traced at rate 0.5`);
        assert.ok(traces.every((t) => t.tenant === 'tenant-a' && t.inPort === 'vm-a1' && t.verdict !== 'drop'));
        assert.ok(traces.every((t) => t.headers.srcMac === vmMacAddress('vm-a1')));

        // Tenant A aims at tenant B's VM: the switch handles every frame, and none reaches B.
        const rxBefore = (await dataplane()).counters.ports['vm-a1']?.rxFrames ?? 0;
        await requestJson(
          'POST',
          `${a1}/traffic/generate`,
          { to: ['vm-b1'], protocol: 'udp', count: 200, size: 128 },
          GENERATE_TIMEOUT_MS,
        );
        await eventually('the switch to handle the 200 frames', 30_000, async () =>
          ((await dataplane()).counters.ports['vm-a1']?.rxFrames ?? 0) >= rxBefore + 200 ? true : undefined,
        );
        // B's own VM vm-b2 then sends vm-b1 a few marker frames, which it must receive. The switch counts a frame
        // as it decides it, within a batch it read before, so the markers, sent after all 200 were counted, are read
        // in a later batch; its loop commits each batch (one MULTI) before it reads the next, so anything of A's
        // that reached vm-b1's rx stream sits there before the markers, and vm-b1 reads its rx stream in order.
        // Once the markers are in vm-b1's report, so is anything of A's that got through.
        const markers = 5;
        const fromB2 = await requestJson(
          'POST',
          `${url('vm-b2')}/traffic/generate`,
          {
            to: ['vm-b1'],
            protocol: 'udp',
            count: markers,
            size: 128,
          },
          GENERATE_TIMEOUT_MS,
        );
        assert.equal(fromB2.status, 201, JSON.stringify(fromB2.body));
        const atB = await eventually("the markers from tenant B's own vm-b2 at vm-b1", 30_000, async () => {
          const { body } = await requestJson<Received>('GET', `${b1}/traffic/received`);
          return (body.bySource[vmIpv4Address('vm-b2')]?.received ?? 0) >= markers ? body : undefined;
        });
        assert.deepEqual(
          Object.keys(atB.bySource),
          [vmIpv4Address('vm-b2')],
          'nothing from tenant A reached tenant B: only the markers arrived',
        );
        assert.equal(atB.total, markers, 'nothing from tenant A reached tenant B, not even a malformed frame');
      } finally {
        await consumer.disconnect();
        await put('tenant-a', 0.01);
        await put('tenant-b', 0.01);
      }
    });

    it("joins a sampled frame's switch.forward span to the trace of the VM send that carried it, in Jaeger", async () => {
      const [a1, a2, sw, jaeger] = ['vm-a1', 'vm-a2', 'switch', 'jaeger'].map(url);
      const receivedByA2 = async (): Promise<number> =>
        (await requestJson<{ total: number }>('GET', `${a2}/traffic/received`)).body.total;
      const before = await receivedByA2();
      assert.equal((await admin('PUT', `${sw}/tenants/tenant-a/sampling`, { rate: 1 })).status, 200);
      try {
        const sent = await requestJson(
          'POST',
          `${a1}/traffic/generate`,
          {
            to: ['vm-a2'],
            protocol: 'udp',
            count: 20,
            size: 128,
          },
          GENERATE_TIMEOUT_MS,
        );
        assert.equal(sent.status, 201, JSON.stringify(sent.body));
        // `generate` answers once the frames are in vm-a1's tx stream; the switch decides them later. The sampling
        // goes back only once vm-a2 has them all, or the switch could read them at the old rate (seen in a CI run).
        await eventually('vm-a2 to receive the 20 sampled frames', 30_000, async () =>
          (await receivedByA2()) >= before + 20 ? true : undefined,
        );
      } finally {
        assert.equal((await admin('PUT', `${sw}/tenants/tenant-a/sampling`, { rate: 0.01 })).status, 200);
      }
      const query = new URLSearchParams({
        service: 'switch',
        operation: 'switch.forward',
        limit: '20',
        lookback: '1h',
      });
      const trace = await eventually('a switch.forward span in a trace that starts in vm-a1', 60_000, async () => {
        const { body } = await requestJson<{ data?: JaegerTrace[] }>('GET', `${jaeger}/api/traces?${query.toString()}`);
        return body.data?.find((t) =>
          t.spans.some((s) => s.operationName === 'switch.forward' && parentOf(t, s) !== undefined),
        );
      });
      const forward = trace.spans.find((s) => s.operationName === 'switch.forward' && parentOf(trace, s))!;
      assert.equal(serviceOf(trace, forward), 'switch');
      assert.equal(tag(forward, 'tenantlab.tenant.id'), 'tenant-a');
      assert.equal(tag(forward, 'tenantlab.switch.in_port'), 'vm-a1');
      const parent = parentOf(trace, forward)!;
      assert.equal(serviceOf(trace, parent), 'tenant-vm', 'the parent is the sending VM span');
    });

    it('finds the heavy flows of a Zipf mix with a tenant program on the switch, as the generator counted them', async () => {
      const [a1, a2, sw, telemetry] = ['vm-a1', 'vm-a2', 'switch', 'telemetry'].map(url);
      const threshold = 200;
      // The shipped heavy-hitter program, keyed on the flow (source port) instead of the source address: the
      // generator's flows differ by source port, and it reports per flow what it sent.
      const example = JSON.parse(readFileSync(join(REPO_ROOT, 'programs', 'heavy-hitter.json'), 'utf8')) as {
        name: string;
        actions: { ops: { op: string; fields?: string[]; value?: { right?: { const?: number } } }[] }[];
      };
      example.name = 'heavy_flows';
      for (const op of example.actions.flatMap((action) => action.ops)) {
        if (op.fields) op.fields = op.fields.map((field) => (field === 'ipv4.src' ? 'l4.sport' : field));
        if (op.value?.right?.const === 1000) op.value.right.const = threshold;
      }
      const submitted = await requestJson<{ version: number }>('PUT', `${a1}/program`, { program: example });
      assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
      await eventually('the switch to run the program', 15_000, async () => {
        const { body } = await admin<{ programs: { version: number; tenants: string[] } }>('GET', `${sw}/dataplane`);
        return body.programs.version >= submitted.body.version && body.programs.tenants.includes('tenant-a')
          ? true
          : undefined;
      });

      const reported = new Set<number>();
      const kafka = createKafkaClient(
        'e2e-heavy',
        [lab().clients.kafkaBrokers],
        new JsonLogger('e2e', 'error'),
        lab().clients.kafkaCredentials,
      );
      const consumer = kafka.consumer({ groupId: `e2e-heavy-${process.pid}-${Date.now()}` });
      await consumer.connect();
      try {
        await consumer.subscribe({ topic: TOPICS.programEvents, fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ message }) => {
            const event = JSON.parse(message.value?.toString() ?? '{}') as {
              tenant: string;
              fields: Record<string, number>;
            };
            const port = event.fields['l4.sport'];
            if (event.tenant === 'tenant-a' && port !== undefined) reported.add(Number(port) - 10_000);
          },
        });
        assert.equal((await requestJson('DELETE', `${a2}/traffic/received`)).status, 204);
        const count = 5000;
        const generated = await requestJson<{ sent: number; perFlow: Record<string, number> }>(
          'POST',
          `${a1}/traffic/generate`,
          { to: ['vm-a2'], protocol: 'udp', count, size: 128, flows: 50, zipf: 1.2, seed: 7 },
          GENERATE_TIMEOUT_MS,
        );
        assert.equal(generated.status, 201, JSON.stringify(generated.body));
        const heavy = Object.entries(generated.body.perFlow)
          .filter(([, sent]) => sent >= threshold)
          .map(([flow]) => Number(flow))
          .sort((x, y) => x - y);
        assert.ok(heavy.length >= 2 && heavy.length < 50, `a Zipf mix has a few heavy flows: ${heavy.join(',')}`);
        const arrived = async (): Promise<number> =>
          (await requestJson<{ total: number }>('GET', `${a2}/traffic/received`)).body.total;
        await eventually(`all ${count} frames at vm-a2`, 30_000, async () =>
          (await arrived()) >= count ? true : undefined,
        ).catch(async (error: unknown) => {
          const { body } = await admin('GET', `${sw}/dataplane`);
          throw new Error(`${String(error)}; ${await arrived()} arrived; switch: ${JSON.stringify(body)}`);
        });
        const found = await eventually('a report for every heavy flow', 30_000, async () =>
          heavy.every((flow) => reported.has(flow)) ? [...reported].sort((x, y) => x - y) : undefined,
        );
        assert.deepEqual(found, heavy, 'the flows reported are exactly the heavy ones');
        // Telemetry keeps the same reports per tenant, for people who do not read Kafka.
        const kept = await eventually('the reports in telemetry', 30_000, async () => {
          const { status, body } = await admin<{
            events: { tenant: string; fields: Record<string, number> }[];
          }>('GET', `${telemetry}/events/tenant-a?event=heavy_hitter&limit=1000`);
          const flows = status === 200 ? body.events.map((e) => Number(e.fields['l4.sport']) - 10_000) : [];
          return heavy.every((flow) => flows.includes(flow)) ? body.events : undefined;
        });
        assert.ok(kept.every((e) => e.tenant === 'tenant-a'));
        const others = await admin('GET', `${telemetry}/events/tenant-b`);
        assert.equal(others.status, 404, "tenant B's programs reported nothing: it has no events");
      } finally {
        await consumer.disconnect();
      }
    });

    const crash = options.vmCrash;
    // Last: it takes vm-a2 down for a while.
    it('re-registers a VM killed and started again; its peer sees the old circuit end', async () => {
      const { vms, operator } = lab().clients;
      assert.equal((await vms['vm-a2'].echo('kill-echo')).status, 201);
      const transfer = vms['vm-a1'].send({
        target: 'vm-a2/kill-echo',
        mode: 'stream',
        count: 1_000_000,
        size: 1024,
      });
      const circuit = await eventually('the circuit open on vm-a1', 30_000, async () =>
        (await vms['vm-a1'].circuits()).body.circuits.find((c) => c.id),
      );
      await crash.kill('vm-a2');
      const { status, body } = await transfer;
      assert.ok(status >= 400, `the sender sees its peer die: ${status} ${JSON.stringify(body)}`);
      await eventually('the old circuit gone from vm-a1', 60_000, async () =>
        (await vms['vm-a1'].circuits()).body.circuits.some((c) => c.id === circuit.id) ? undefined : true,
      );
      await crash.start('vm-a2');
      await eventually('vm-a2 ready again', 60_000, async () =>
        (await vms['vm-a2'].ready()).status === 200 ? true : undefined,
      );
      const registry = await operator.get<{ vms: { id: string; alive: boolean }[] }>('/vms');
      assert.equal(registry.body.vms.find((v) => v.id === 'vm-a2')?.alive, true);
      // A new circuit to the restarted VM works.
      assert.equal((await vms['vm-a2'].echo('echo-again')).status, 201);
      const again = await vms['vm-a1'].send({ target: 'vm-a2/echo-again', mode: 'stream', count: 100, size: 64 });
      assert.equal(again.body.verified, true, JSON.stringify(again.body));
    });
  });
}
