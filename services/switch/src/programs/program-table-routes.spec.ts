import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ipv4ToString, mulberry32, type TenantProgram, ValidationError } from '@tenantlab/shared';
import { compileProgram, type CompiledProgram } from './program-compiler';
import { RegisterMemory } from './register-memory';
import { context, frame, recordingHooks, valid } from './testing/program-fixtures';

const ROUTES = 512;

/** Routes on (l4.dport exact, ipv4.dst lpm): the matching route counts its id, so a test sees which one matched. */
const ROUTING: Partial<TenantProgram> = {
  counters: [{ name: 'hits', size: ROUTES + 1, kind: 'packets' }],
  actions: [
    {
      name: 'route',
      params: [{ name: 'id', bits: 16 }],
      ops: [{ op: 'counter.count', counter: 'hits', index: { param: 'id' } }],
    },
    { name: 'miss', params: [], ops: [{ op: 'counter.count', counter: 'hits', index: { const: ROUTES } }] },
  ],
  tables: [
    {
      name: 'routes',
      key: [
        { field: 'l4.dport', match: 'exact' },
        { field: 'ipv4.dst', match: 'lpm' },
      ],
      actions: ['route', 'miss'],
      defaultAction: { action: 'miss', args: {} },
      size: ROUTES,
    },
  ],
  control: [{ table: 'routes' }],
};

interface Route {
  id: number;
  dport: number;
  prefix: number;
  length: number;
}

function prefixMask(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

/** The route a packet must match, by brute force: same port, longest prefix covering the address. */
function expected(routes: readonly Route[], dport: number, dst: number): number {
  let best: Route | undefined;
  for (const route of routes) {
    if (route.dport !== dport || (dst & prefixMask(route.length)) >>> 0 !== route.prefix) continue;
    if (best === undefined || route.length > best.length) best = route;
  }
  return best?.id ?? ROUTES;
}

function matched(program: CompiledProgram, dport: number, dst: number): number {
  const before = Array.from({ length: ROUTES + 1 }, (_, i) => program.counter('hits', i).packets);
  program.run(context(frame({ dst: ipv4ToString(dst), dport })));
  const hit = before.findIndex((count, i) => program.counter('hits', i).packets === count + 1);
  assert.ok(hit >= 0, 'exactly one route or the default counted the packet');
  return hit;
}

describe('routing tables (one LPM key, the others exact): indexed by prefix length', () => {
  it('matches what a linear longest-prefix search finds, as routes come and go', () => {
    const random = mulberry32(2026);
    const program = compileProgram(valid(ROUTING), {}, new RegisterMemory(1, 1), recordingHooks());
    const routes: Route[] = [];
    const taken = new Set<string>();
    let nextId = 0;
    // Addresses drawn from a few /8s so prefixes of every length overlap; ports from two values.
    const address = (): number => ((10 + Math.floor(random() * 3)) * 2 ** 24 + Math.floor(random() * 2 ** 24)) >>> 0;
    for (let round = 0; round < 6; round++) {
      while (routes.length < 300) {
        const length = [0, 1, 7, 8, 16, 20, 24, 31, 32][Math.floor(random() * 9)];
        const route = { id: nextId++ % ROUTES, dport: random() < 0.5 ? 53 : 80, prefix: 0, length };
        route.prefix = (address() & prefixMask(length)) >>> 0;
        const match = `${route.dport}/${route.prefix}/${length}`;
        if (taken.has(match) || routes.some((r) => r.id === route.id)) continue;
        taken.add(match);
        routes.push(route);
        program.addEntry('routes', {
          key: [{ value: route.dport }, { value: route.prefix, prefixLength: length }],
          action: 'route',
          args: { id: route.id },
        });
      }
      for (let probe = 0; probe < 300; probe++) {
        const dport = random() < 0.5 ? 53 : random() < 0.5 ? 80 : 443;
        // Half the probes inside a route's prefix, so long prefixes get hit too.
        const near = routes[Math.floor(random() * routes.length)];
        const dst =
          random() < 0.5 ? (near.prefix | (address() & ~prefixMask(near.length) & 0xffffffff)) >>> 0 : address();
        assert.equal(matched(program, dport, dst), expected(routes, dport, dst), `${dport} ${ipv4ToString(dst)}`);
      }
      // Remove a third, at random, and check again in the next round.
      for (let i = 0; i < 100; i++) {
        const [route] = routes.splice(Math.floor(random() * routes.length), 1);
        taken.delete(`${route.dport}/${route.prefix}/${route.length}`);
        assert.ok(
          program.removeEntry('routes', [{ value: route.dport }, { value: route.prefix, prefixLength: route.length }]),
        );
      }
    }
    assert.equal(program.entryCount('routes'), 200);
  });

  it('a default route (/0) catches what nothing longer does, and goes when removed', () => {
    const program = compileProgram(valid(ROUTING), {}, new RegisterMemory(1, 1), recordingHooks());
    program.addEntry('routes', {
      key: [{ value: 53 }, { value: 0, prefixLength: 0 }],
      action: 'route',
      args: { id: 1 },
    });
    program.addEntry('routes', {
      key: [{ value: 53 }, { value: 0x0a000005, prefixLength: 32 }],
      action: 'route',
      args: { id: 2 },
    });
    assert.equal(matched(program, 53, 0x0a000005), 2, 'the host route');
    assert.equal(matched(program, 53, 0xc0a80001), 1, 'the default route');
    assert.equal(matched(program, 80, 0x0a000005), ROUTES, 'another port: no route, the default action');
    program.removeEntry('routes', [{ value: 53 }, { value: 0, prefixLength: 0 }]);
    assert.equal(matched(program, 53, 0xc0a80001), ROUTES, 'without the default route: a miss');
  });
});

describe('address fields as people write them', () => {
  it('takes a dotted address (and a dotted mask) wherever the key field is ipv4.src or ipv4.dst; integers still work', () => {
    const program = compileProgram(valid(ROUTING), {}, new RegisterMemory(1, 1), recordingHooks());
    program.addEntry('routes', {
      key: [{ value: 53 }, { value: '10.1.0.0', prefixLength: 16 }],
      action: 'route',
      args: { id: 7 },
    });
    program.addEntry('routes', {
      key: [{ value: 53 }, { value: 0x0a010203, prefixLength: 32 }],
      action: 'route',
      args: { id: 8 },
    });
    assert.equal(matched(program, 53, 0x0a01ffff), 7, '10.1.255.255 is in 10.1.0.0/16');
    assert.equal(matched(program, 53, 0x0a010203), 8, 'the /32 given as an integer');
    assert.equal(matched(program, 53, 0x0a020000), ROUTES, '10.2.0.0 is not');
    assert.ok(program.removeEntry('routes', [{ value: 53 }, { value: '10.1.0.0', prefixLength: 16 }]));
    assert.equal(matched(program, 53, 0x0a01ffff), ROUTES, 'removed by its dotted key');

    const ternary = compileProgram(
      valid({
        ...ROUTING,
        tables: [
          {
            name: 'routes',
            key: [{ field: 'ipv4.src', match: 'ternary' }],
            actions: ['route', 'miss'],
            defaultAction: { action: 'miss', args: {} },
            size: 4,
          },
        ],
      }),
      {},
      new RegisterMemory(1, 1),
      recordingHooks(),
    );
    ternary.addEntry('routes', {
      key: [{ value: '10.0.0.0', mask: '255.255.255.0' }],
      action: 'route',
      args: { id: 3 },
    });
    ternary.run(context(frame({ src: '10.0.0.9' })));
    assert.equal(ternary.counter('hits', 3).packets, 1, '10.0.0.9 matches 10.0.0.0 under mask 255.255.255.0');

    // Only address fields take dots, and only real addresses; the refusal says which key and what it takes.
    const naming = (pattern: RegExp) => (error: unknown) =>
      error instanceof ValidationError && error.details.some((detail) => pattern.test(detail));
    assert.throws(
      () => program.addEntry('routes', { key: [{ value: '0.0.0.53' }, { value: 0, prefixLength: 0 }], action: 'miss' }),
      naming(
        /key\[0\] \(l4\.dport, exact\): value must be an unsigned integer \(a number, decimal string or 0x hex string\)$/,
      ),
    );
    assert.throws(
      () =>
        program.addEntry('routes', { key: [{ value: 53 }, { value: '10.0.0.256', prefixLength: 32 }], action: 'miss' }),
      naming(/key\[1\] \(ipv4\.dst, lpm\): .*or a dotted IPv4 address like 10\.0\.0\.1/),
    );
  });

  it('takes a MAC address with colons wherever the key field is eth.src or eth.dst, and addresses as action args', () => {
    const byMac = compileProgram(
      valid({
        ...ROUTING,
        tables: [
          {
            name: 'routes',
            key: [{ field: 'eth.src', match: 'exact' }],
            actions: ['route', 'miss'],
            defaultAction: { action: 'miss', args: {} },
            size: 4,
          },
        ],
      }),
      {},
      new RegisterMemory(1, 1),
      recordingHooks(),
    );
    // The fixture's frames come from 02:00:00:00:00:01; the upper-case form names the same address.
    byMac.addEntry('routes', { key: [{ value: '02:00:00:00:00:01' }], action: 'route', args: { id: 5 } });
    byMac.run(context(frame()));
    assert.equal(byMac.counter('hits', 5).packets, 1, 'matched by the colon form of its source MAC');
    assert.ok(byMac.removeEntry('routes', [{ value: '02:00:00:00:00:01' }]));
    byMac.addEntry('routes', { key: [{ value: 0x020000000001 }], action: 'route', args: { id: 6 } });
    byMac.run(context(frame()));
    assert.equal(byMac.counter('hits', 6).packets, 1, 'the same MAC as an integer');

    const naming = (pattern: RegExp) => (error: unknown) =>
      error instanceof ValidationError && error.details.some((detail) => pattern.test(detail));
    assert.throws(
      () => byMac.addEntry('routes', { key: [{ value: '02:00:00:00:00' }], action: 'miss' }),
      naming(/key\[0\] \(eth\.src, exact\): .*or a MAC address with colons like 02:00:00:00:00:01/),
    );
    // An action's param has a width, not a field: an address is taken as its number, and must fit.
    const routes = compileProgram(valid(ROUTING), {}, new RegisterMemory(1, 1), recordingHooks());
    routes.addEntry('routes', {
      key: [{ value: 53 }, { value: '10.1.0.0', prefixLength: 16 }],
      action: 'route',
      args: { id: '0.0.1.2' },
    });
    assert.equal(matched(routes, 53, 0x0a010001), 0x0102, 'the dotted argument 0.0.1.2 is the id 258');
    assert.throws(
      () =>
        routes.addEntry('routes', {
          key: [{ value: 54 }, { value: 0, prefixLength: 0 }],
          action: 'route',
          args: { id: '10.0.0.1' },
        }),
      naming(/args\.id: 167772161 does not fit in 16 bits/),
    );
    assert.throws(
      () =>
        routes.addEntry('routes', {
          key: [{ value: 54 }, { value: 0, prefixLength: 0 }],
          action: 'route',
          args: { id: 'ten' },
        }),
      naming(/args\.id: must be an unsigned integer constant, a dotted IPv4 address or a MAC address with colons/),
    );
  });
});
