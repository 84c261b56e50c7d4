import type { Redis } from 'ioredis';

/** Keyspace notifications of every tx stream (`port:{vm}:tx`): the message is the command, e.g. `xadd`. */
const TX_CHANNELS = '__keyspace@*__:port:*:tx';
/** Rounds in a row with frames after which the switch stops listening: a busy switch reads again anyway. */
const BUSY_ROUNDS_TO_UNSUBSCRIBE = 16;

/**
 * Wakes the idle data path when a VM writes to its tx stream. The switch can no longer block in XREADGROUP (it
 * reads through TX_READ_SCRIPT, which looks at entries before they leave Redis, and scripts cannot block), so it
 * waits for Redis's keyspace notification of an XADD instead, with a timeout as a safety net. It listens only while
 * idle: under load every VM's every XADD would be a message to parse. When Redis refuses to turn notifications on
 * (CONFIG is disabled), the wait is a short poll.
 */
export class TxDoorbell {
  private enabled = false;
  private listening = false;
  private rung = false;
  private busyRounds = 0;
  private wake: (() => void) | undefined;

  constructor(
    private readonly subscriber: Redis,
    private readonly pollMs: number,
  ) {
    subscriber.on('pmessage', (_pattern: string, _channel: string, message: string) => {
      if (message !== 'xadd') return;
      this.rung = true;
      this.wake?.();
    });
  }

  /** Turns on keyspace notifications for streams (adding K and t to what is set); false when Redis refuses. */
  async enable(admin: Redis): Promise<boolean> {
    try {
      const [, flags = ''] = (await admin.config('GET', 'notify-keyspace-events')) as string[];
      const missing = ['K', 't'].filter((flag) => !flags.includes(flag) && !(flag === 't' && flags.includes('A')));
      if (missing.length > 0) await admin.config('SET', 'notify-keyspace-events', flags + missing.join(''));
      this.enabled = true;
    } catch {
      this.enabled = false;
    }
    return this.enabled;
  }

  /** Call before each read: a write seen from now on wakes the next wait. */
  arm(): void {
    this.rung = false;
  }

  /** The round read frames. */
  busy(): void {
    if (!this.listening || ++this.busyRounds < BUSY_ROUNDS_TO_UNSUBSCRIBE) return;
    this.listening = false;
    this.busyRounds = 0;
    this.subscriber.punsubscribe(TX_CHANNELS).catch(() => undefined);
  }

  /**
   * Waits until a VM writes, at most `maxMs`. When it was not listening yet it starts to and returns at once: the
   * caller reads again, which finds what was written before the subscription took effect.
   */
  async wait(maxMs: number): Promise<void> {
    this.busyRounds = 0;
    if (!this.enabled) return sleep(Math.min(maxMs, this.pollMs));
    if (!this.listening) {
      this.listening = true;
      try {
        await this.subscriber.psubscribe(TX_CHANNELS);
        return;
      } catch {
        this.listening = false;
        return sleep(Math.min(maxMs, this.pollMs));
      }
    }
    if (this.rung) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, maxMs);
      this.wake = done;
    });
    this.wake = undefined;
  }

  /** Wakes a wait now (shutdown). */
  interrupt(): void {
    this.wake?.();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
