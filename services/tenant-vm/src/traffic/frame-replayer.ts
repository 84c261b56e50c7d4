import { performance } from 'node:perf_hooks';
import { HEADER_BYTES, MAX_FRAME_BYTES, sleepUntil, ValidationError } from '@tenantlab/shared';
import { SendAbortedError } from '../vnic/vnic.errors';
import { MAX_SEND_BATCH } from '../vnic/port-sender';

/** Frames one `POST /traffic/replay` may carry, and their bytes in all (decoded): one request stays well inside the
 * service's 256 KB body limit once base64 and JSON are added (128 KiB × 4/3 + 512 × about 30 bytes of JSON). */
export const MAX_REPLAY_FRAMES = 512;
export const MAX_REPLAY_BYTES = 128 * 1024;
/** A request's last frame may be due at most this long after it arrives (its offset over the speed), and the whole
 * request ends by then: a batch is a slice of a replay, not a replay. */
export const REPLAY_TIME_LIMIT_MS = 60_000;
export const MAX_REPLAY_SPEED = 1000;

export interface ReplayFrame {
  /** When to send it, in µs of recorded time after the request starts (divided by the speed). */
  atUs: number;
  bytes: Buffer;
}

export interface ReplayPlan {
  frames: readonly ReplayFrame[];
  /** This VM's MAC as 6 bytes: written over every frame's source MAC. */
  sourceMac: Buffer;
  /** The destination MAC as 6 bytes, written over every frame's own; undefined keeps the recorded one. */
  destinationMac?: Buffer;
  speed: number;
}

export interface ReplayReport {
  sent: number;
  /** Frames not sent: the time limit ended the request first (tx stayed full). */
  notSent: number;
  durationMs: number;
  /** How late the latest frame went out against its due time, in µs: the pacing's error. */
  maxLateUs: number;
  stopped?: string;
}

/** Sends frames on the vNIC; resolves once they are all in tx. */
export type ReplaySender = (frames: Buffer[], options: { batch: number; signal: AbortSignal }) => Promise<void>;

/**
 * Sends recorded frames through this VM's vNIC at their recorded offsets over `speed`: frames that are due go out
 * together in one send, then it sleeps until the next is due. Every frame's source MAC becomes this VM's: the switch
 * drops a frame whose source is not its VM's own (`spoofed-source`), so a capture recorded elsewhere could not be
 * replayed otherwise.
 */
export class FrameReplayer {
  constructor(
    private readonly send: ReplaySender,
    private readonly timeLimitMs = REPLAY_TIME_LIMIT_MS,
    private readonly clockMs: () => number = () => performance.now(),
  ) {}

  /** Refuses the whole request, naming each bad frame by index, before anything is sent. */
  check(frames: readonly ReplayFrame[], speed: number): void {
    const problems: string[] = [];
    let total = 0;
    frames.forEach((frame, i) => {
      total += frame.bytes.length;
      if (frame.bytes.length < HEADER_BYTES.ethernet) {
        problems.push(`frames[${i}]: ${frame.bytes.length} bytes is under an Ethernet header (14)`);
      } else if (frame.bytes.length > MAX_FRAME_BYTES) {
        problems.push(
          `frames[${i}]: ${frame.bytes.length} bytes is over the vNIC's largest frame (${MAX_FRAME_BYTES})`,
        );
      }
      if (frame.atUs / speed / 1000 > this.timeLimitMs) {
        problems.push(
          `frames[${i}].atUs: due ${Math.round(frame.atUs / speed / 1000)} ms after the start at speed ${speed}, ` +
            `past a request's ${this.timeLimitMs} ms: send it in a later request`,
        );
      }
    });
    if (total > MAX_REPLAY_BYTES) {
      problems.push(`frames: ${total} bytes in all is over a request's ${MAX_REPLAY_BYTES}: split them`);
    }
    if (problems.length > 0) throw new ValidationError(`replay request is invalid: ${problems.join('; ')}`, problems);
  }

  async run(plan: ReplayPlan): Promise<ReplayReport> {
    this.check(plan.frames, plan.speed);
    const frames = plan.frames.map(({ bytes }) => rewritten(bytes, plan.sourceMac, plan.destinationMac));
    const limit = new AbortController();
    const timer = setTimeout(() => limit.abort(), this.timeLimitMs);
    const started = this.clockMs();
    const dueMs = (i: number): number => started + plan.frames[i].atUs / plan.speed / 1000;
    let sent = 0;
    let maxLateUs = 0;
    try {
      while (sent < frames.length && !limit.signal.aborted) {
        await sleepUntil(dueMs(sent), limit.signal, this.clockMs);
        if (limit.signal.aborted) break;
        // Every frame due by now goes in this send (in order, so a frame listed before a later-due one waits for it).
        const now = this.clockMs();
        let end = sent + 1;
        while (end < frames.length && end - sent < MAX_SEND_BATCH && dueMs(end) <= now) end += 1;
        maxLateUs = Math.max(maxLateUs, Math.round((now - dueMs(sent)) * 1000));
        try {
          await this.send(frames.slice(sent, end), { batch: MAX_SEND_BATCH, signal: limit.signal });
          sent = end;
        } catch (error) {
          if (!(error instanceof SendAbortedError)) throw error;
          sent += error.sent;
        }
      }
    } finally {
      clearTimeout(timer);
    }
    return {
      sent,
      notSent: frames.length - sent,
      durationMs: Math.round(this.clockMs() - started),
      maxLateUs,
      ...(sent < frames.length
        ? { stopped: `time limit: a replay request stops after ${this.timeLimitMs / 1000} s` }
        : {}),
    };
  }
}

/** A copy of `frame` with this VM's source MAC and, if given, the destination's; the payload is left as recorded. */
function rewritten(frame: Buffer, sourceMac: Buffer, destinationMac: Buffer | undefined): Buffer {
  const copy = Buffer.from(frame);
  sourceMac.copy(copy, 6);
  destinationMac?.copy(copy, 0);
  return copy;
}

/** `aa:bb:cc:dd:ee:ff` as its 6 bytes. */
export function macBytes(mac: string): Buffer {
  return Buffer.from(mac.replace(/:/g, ''), 'hex');
}
