import { performance } from 'node:perf_hooks';
import { buildFrame, PORT_ENTRY_FIELDS, PORT_KEYS, vmIpv4Address, vmMacAddress } from '@tenantlab/shared';
import { Redis } from 'ioredis';

/** Frames each storm VM writes per round trip. */
const STORM_BATCH = 32;

/** What the storm process reports when it stops: frames its VMs wrote, and over how long. */
export interface StormReport {
  written: number;
  seconds: number;
}

/**
 * The attacker of the isolation benchmark, in a process of its own so it competes with the victim for the machine as
 * VMs would, not for the victim's event loop: each VM of STORM_VMS (comma-separated) broadcasts as fast as Redis
 * takes it, STORM_BATCH frames per round trip written straight to its tx stream (no vNIC, so no PORT_CAPACITY_FRAMES
 * cap), each on its own connection, and empties its rx in the same round trip (as a VM reading its port would, so
 * the switch's copies keep costing it). Runs until it gets a 'stop' message, then reports and exits.
 */
async function storm(): Promise<void> {
  const url = process.env['REDIS_URL'] ?? '';
  const vms = (process.env['STORM_VMS'] ?? '').split(',').filter(Boolean);
  let stopped = false;
  process.on('message', (message) => {
    if (message === 'stop') stopped = true;
  });
  const started = performance.now();
  let written = 0;
  const clients = vms.map((vm) => new Redis(url, { connectionName: `storm:${vm}` }));
  await Promise.all(
    vms.map(async (vm, i) => {
      const frame = buildFrame({
        srcMac: vmMacAddress(vm),
        dstMac: 'ff:ff:ff:ff:ff:ff',
        ipv4: { src: vmIpv4Address(vm), dst: '10.255.255.255' },
        udp: { srcPort: 9000, dstPort: 9000 },
        payload: Buffer.alloc(64),
      });
      while (!stopped) {
        const pipeline = clients[i].pipeline();
        for (let n = 0; n < STORM_BATCH; n++) pipeline.xadd(PORT_KEYS.tx(vm), '*', PORT_ENTRY_FIELDS.frame, frame);
        pipeline.xtrim(PORT_KEYS.rx(vm), 'MAXLEN', 0);
        await pipeline.exec();
        written += STORM_BATCH;
      }
    }),
  );
  for (const client of clients) client.disconnect();
  const report: StormReport = { written, seconds: (performance.now() - started) / 1000 };
  process.send?.(report);
}

if (require.main === module) {
  process.send?.('ready');
  storm().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
