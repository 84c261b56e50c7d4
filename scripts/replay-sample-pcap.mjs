#!/usr/bin/env node
// Writes scenarios/pcaps/udp-a2-to-a1.pcap, the sample capture of scenarios/replay.json (issue 12's replay workload):
//   node scripts/replay-sample-pcap.mjs [--out FILE]
// 256 UDP frames of 64-512 bytes (most of them small) over about 2.5 s, "recorded" from vm-a2 to vm-a1: their source
// MAC is vm-a2's, the one address a replay from vm-a1 to vm-a2 must not carry (the switch would learn vm-a2 behind
// vm-a1's port and drop every frame to vm-a2 as same-port), so a replay that did not rewrite it fails visibly.
// Everything is drawn from a fixed seed: the same bytes every time (lab/src/scenarios/replay-sample.spec.ts checks
// the committed file is this script's output). Needs `npx tsc -b` first (it uses @tenantlab/shared's build).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildFrame, mulberry32, pcapFile, vmIpv4Address, vmMacAddress } from '@tenantlab/shared';

const { values } = parseArgs({ options: { out: { type: 'string' } }, strict: true, allowPositionals: false });
const out = values.out ?? join(import.meta.dirname, '..', 'scenarios', 'pcaps', 'udp-a2-to-a1.pcap');

const FRAMES = 256;
const HEADERS = 14 + 20 + 8; // Ethernet, IPv4, UDP
const random = mulberry32(12);
const frames = [];
let timestampUs = 1_790_000_000_000_000;
for (let i = 0; i < FRAMES; i++) {
  // Sizes 64-512, squared to favour small frames as real traffic does, and to keep the file small.
  const size = 64 + Math.floor(random() ** 2 * 449);
  const payload = Buffer.alloc(size - HEADERS);
  for (let b = 0; b < payload.length; b++) payload[b] = (i + b) & 0xff;
  const bytes = buildFrame({
    dstMac: vmMacAddress('vm-a1'),
    srcMac: vmMacAddress('vm-a2'),
    ipv4: { src: vmIpv4Address('vm-a2'), dst: vmIpv4Address('vm-a1') },
    udp: { srcPort: 40_000 + (i % 8), dstPort: 9 },
    payload,
  });
  frames.push({ timestampUs, bytes, originalLength: bytes.length });
  timestampUs += 2_000 + Math.floor(random() * 16_000); // 2-18 ms apart
}
writeFileSync(out, pcapFile(frames, 65_535));
console.log(`wrote ${out}: ${FRAMES} frames`);
