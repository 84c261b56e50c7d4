import type { PortLedger } from '@tenantlab/shared';
import type { PortReceiverCounters } from './port-receiver';
import type { PortSenderCounters } from './port-sender';

/** What `GET /vnic` shows of frames lost with a store that restarted empty. */
export interface StoreLossReport {
  /** Ledger entries read: store generations of this vNIC that ended. */
  ledgers: number;
  /** Frames this VM wrote to tx (confirmed) that the switch never read. */
  tx: number;
  /** Frames the switch wrote to rx (confirmed) that this VM never read. */
  rx: number;
  /** Frames whose fate nobody can know: tx writes without a reply, read by the switch but never committed, rx writes without a reply. */
  unknownOutcome: { tx: number; atSwitch: number; rx: number };
}

/**
 * This vNIC's side of the store ledger (issue 10). Every registration rotates the VM's Redis password, so each set
 * of credentials writes to exactly one store: frames written under credentials older than the current ones went to
 * the store the switch's ledger entry closes. On rx, the entry's place in the stream is the boundary: frames read
 * before it are the ones its `delivered` counts.
 *
 * Writes without a reply are the last of their generation, so if the switch read more than the confirmed writes,
 * the difference were unknown-outcome writes that did land; the rest stay unknown. Same for rx writes in doubt.
 */
export class StoreLoss {
  /** Counts of senders whose store has not been settled yet, and where the current sender's counts start. */
  private unsettled = { sent: 0, unknown: 0 };
  private mark: { sent: number; unknown: number };
  private readAtLastLedger = 0;
  private readonly totals: StoreLossReport = {
    ledgers: 0,
    tx: 0,
    rx: 0,
    unknownOutcome: { tx: 0, atSwitch: 0, rx: 0 },
  };

  constructor(
    private readonly sent: PortSenderCounters,
    private readonly received: PortReceiverCounters,
  ) {
    this.mark = { sent: sent.framesSent, unknown: sent.unknownOutcome };
  }

  /** The sender is replaced (new credentials): what the old one wrote belongs to the store it wrote to. */
  credentialsChanged(): void {
    this.unsettled.sent += this.sent.framesSent - this.mark.sent;
    this.unsettled.unknown += this.sent.unknownOutcome - this.mark.unknown;
    this.mark = { sent: this.sent.framesSent, unknown: this.sent.unknownOutcome };
  }

  /**
   * A ledger entry was read (the receiver's counters count the frames before it). `currentSenderIsNew`: the sender
   * in use writes with the current credentials, so into the new store; otherwise its frames went to the old one too.
   */
  settle(ledger: PortLedger, currentSenderIsNew: boolean): void {
    if (!currentSenderIsNew) this.credentialsChanged();
    const { sent, unknown } = this.unsettled;
    this.unsettled = { sent: 0, unknown: 0 };
    const landed = Math.min(unknown, Math.max(0, ledger.consumed - sent));
    this.totals.tx += Math.max(0, sent - ledger.consumed);
    this.totals.unknownOutcome.tx += unknown - landed;
    this.totals.unknownOutcome.atSwitch += ledger.unsettled;

    const read = this.received.framesReceived - this.readAtLastLedger;
    this.readAtLastLedger = this.received.framesReceived;
    const readInDoubt = Math.min(ledger.inDoubt, Math.max(0, read - ledger.delivered));
    this.totals.rx += Math.max(0, ledger.delivered - read);
    this.totals.unknownOutcome.rx += ledger.inDoubt - readInDoubt;
    this.totals.ledgers += 1;
  }

  report(): StoreLossReport {
    return { ...this.totals, unknownOutcome: { ...this.totals.unknownOutcome } };
  }
}
