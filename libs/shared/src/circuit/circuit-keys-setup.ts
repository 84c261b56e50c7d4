import type { ChainableCommander } from 'ioredis';
import type { CircuitMode, RingCapacity } from './circuit-descriptor';
import { CIRCUIT_KEYS, CONTROL_FIELDS, type RingDirection } from './circuit-keys';

const DIRECTIONS: readonly RingDirection[] = ['a2b', 'b2a'];

/**
 * Queues the commands that create one circuit's keys on a MULTI or pipeline: the control area, and both rings as
 * empty streams. The rings must exist before the first write,
 * because writers use NOMKSTREAM so that a torn-down circuit is never recreated by a late write.
 */
export function queueCircuitKeysCreation(
  commands: ChainableCommander,
  circuit: { id: string; mode: CircuitMode; capacity: RingCapacity; vmA: string; vmB: string },
): ChainableCommander {
  commands.hset(CIRCUIT_KEYS.control(circuit.id), {
    [CONTROL_FIELDS.mode]: circuit.mode,
    [CONTROL_FIELDS.capacityEntries]: circuit.capacity.entries,
    [CONTROL_FIELDS.capacityBytes]: circuit.capacity.bytes,
    [CONTROL_FIELDS.vmA]: circuit.vmA,
    [CONTROL_FIELDS.vmB]: circuit.vmB,
  });
  for (const direction of DIRECTIONS) {
    const ring = CIRCUIT_KEYS.ring(circuit.id, direction);
    // An empty stream: add a placeholder and delete it; the key stays, with no entries.
    commands.xadd(ring, '0-1', 'init', '1').xdel(ring, '0-1');
  }
  return commands;
}

/** Queues the deletion of every key of one circuit. */
export function queueCircuitKeysDeletion(commands: ChainableCommander, circuitId: string): ChainableCommander {
  return commands.del(
    CIRCUIT_KEYS.control(circuitId),
    ...DIRECTIONS.map((direction) => CIRCUIT_KEYS.ring(circuitId, direction)),
  );
}
