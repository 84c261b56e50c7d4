import type { SchemaObject } from '@nestjs/swagger';
import { strictObject } from '@tenantlab/shared';

// The tenant VM's own response bodies, as its OpenAPI document declares them (/openapi.json).

const integer: SchemaObject = { type: 'integer' };
const number: SchemaObject = { type: 'number' };
const text: SchemaObject = { type: 'string' };

export const REGISTRATION_SCHEMA = strictObject(
  { id: text, tenant: text, registered: { type: 'boolean' }, lastHeartbeatAt: integer, lastError: text },
  ['lastHeartbeatAt', 'lastError'],
);

/** One stage's histogram (libs/shared StageSnapshot). */
const STAGE_SCHEMA = strictObject({
  count: integer,
  sumUs: integer,
  meanUs: number,
  p50Us: number,
  p99Us: number,
  buckets: { type: 'array', items: integer },
});

export const VNIC_SCHEMA = strictObject(
  {
    vm: text,
    mac: text,
    ipv4: text,
    tx: text,
    rx: text,
    sent: strictObject({ frames: integer, bytes: integer, waits: integer, unknownOutcome: integer }),
    received: strictObject({ frames: integer, bytes: integer, malformed: integer }),
    lostInStore: strictObject({
      ledgers: integer,
      tx: integer,
      rx: integer,
      unknownOutcome: strictObject({ tx: integer, atSwitch: integer, rx: integer }),
    }),
    receiverProblem: text,
    stages: strictObject({
      'vm.encode': STAGE_SCHEMA,
      'vm.write': STAGE_SCHEMA,
      'rx.wait': STAGE_SCHEMA,
      'vm.read': STAGE_SCHEMA,
    }),
  },
  ['receiverProblem'],
);

export const OPEN_CIRCUITS_SCHEMA = strictObject({
  circuits: {
    type: 'array',
    items: strictObject({
      id: text,
      mode: { type: 'string', enum: ['stream', 'datagram'] },
      side: { type: 'string', enum: ['a', 'b'] },
      service: text,
      peer: text,
    }),
  },
  resets: { type: 'object', additionalProperties: strictObject({ count: integer, lastReason: text }) },
});

export const SEND_REPORT_SCHEMA = strictObject(
  {
    circuit: text,
    mode: text,
    count: integer,
    size: integer,
    verified: { type: 'boolean' },
    problem: text,
    durationMs: number,
    messagesPerSecond: number,
    megabytesPerSecond: number,
  },
  ['problem'],
);

export const PING_REPORT_SCHEMA = strictObject({
  circuit: text,
  count: integer,
  size: integer,
  oneWayP50Us: number,
  oneWayP99Us: number,
});

export const GENERATE_REPORT_SCHEMA = strictObject(
  {
    sent: integer,
    durationMs: number,
    packetsPerSecond: number,
    perFlow: { type: 'object', additionalProperties: integer },
    zipf: strictObject({ exponent: number, seed: integer, expectedTopShare: number, observedTopShare: number }),
    stopped: text,
  },
  ['zipf', 'stopped'],
);

export const REPLAY_REPORT_SCHEMA = strictObject(
  { sent: integer, notSent: integer, durationMs: integer, maxLateUs: integer, stopped: text },
  ['stopped'],
);
