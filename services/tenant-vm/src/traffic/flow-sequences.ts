/**
 * The next sequence number of each (destination, flow) this VM sends to, kept across runs: a receiver sees one
 * unbroken sequence per flow however many runs feed it, so its gap and duplicate counts mean what they say. A VM
 * restart starts again at 0 (receivers then count duplicates until DELETE /traffic/received).
 */
export class FlowSequences {
  private readonly next = new Map<string, number[]>();

  take(destination: string, flow: number): number {
    const flows = this.flowsOf(destination);
    const seq = flows[flow] ?? 0;
    flows[flow] = (seq + 1) >>> 0;
    return seq;
  }

  /** Hands back a number taken for a frame that was never sent (and every later one of its flow). */
  giveBack(destination: string, flow: number, seq: number): void {
    const flows = this.flowsOf(destination);
    if ((flows[flow] ?? 0) > seq) flows[flow] = seq;
  }

  private flowsOf(destination: string): number[] {
    let flows = this.next.get(destination);
    if (!flows) this.next.set(destination, (flows = []));
    return flows;
  }
}
