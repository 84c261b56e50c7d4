/**
 * The switch's account of one VM's port for a store generation that ended: written by the switch as one rx entry
 * (field PORT_LEDGER_FIELD, no frame) when it finds the port's tx stream made anew (Redis restarted empty). Everything
 * in Redis is lost then, so only these counts, kept in the switch's memory, say what became of the frames that were
 * in the lost store: the VM compares them with its own counts of what it wrote and read.
 *
 * Boundaries: `consumed` counts frames of the entries the switch read from the tx stream of the ended generation (up to making the
 * new stream's group); `delivered` and `inDoubt` count rx writes made before this entry, in the order of the stream,
 * so the receiver's count of frames read before it is the matching count.
 */
export interface PortLedger {
  /** Ended generations of this port so far, this one included (per switch process). */
  generation: number;
  /** Frames of the distinct tx entries the switch read in the ended generation (an entry may carry many). */
  consumed: number;
  /** Of those, frames of entries the switch neither delivered nor dropped with a confirmed commit (their fate is unknown). */
  unsettled: number;
  /** Frames written to this port's rx with a confirmed reply, before this entry. */
  delivered: number;
  /** Frames in rx writes whose commit got no reply (they may or may not be in rx), before this entry. */
  inDoubt: number;
}

/** The rx entry field carrying a PortLedger as JSON; an entry with it carries no frame. */
export const PORT_LEDGER_FIELD = 'ledger';

const COUNTS = ['generation', 'consumed', 'unsettled', 'delivered', 'inDoubt'] as const;

/** Parses a ledger entry's value; undefined when it is not one (a receiver skips it as malformed then). */
export function parsePortLedger(value: string): PortLedger | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const record = parsed as Record<string, unknown>;
  for (const name of COUNTS) {
    const count = record[name];
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) return undefined;
  }
  const { generation, consumed, unsettled, delivered, inDoubt } = record as unknown as PortLedger;
  return { generation, consumed, unsettled, delivered, inDoubt };
}
