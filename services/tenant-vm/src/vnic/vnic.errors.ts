import { DomainError, DomainErrorOptions, MAX_FRAME_BYTES } from '@tenantlab/shared';

/** A frame longer than the packet path carries. HTTP 413; nothing of that send went out. */
export class FrameTooLargeError extends DomainError {
  constructor(index: number, length: number) {
    super(
      'PAYLOAD_TOO_LARGE',
      `frame ${index} of this send is ${length} bytes, more than the ${MAX_FRAME_BYTES} bytes the packet path carries ` +
        '(MAX_FRAME_BYTES); nothing was sent: split it into smaller frames',
    );
  }
}

/**
 * The sender's caller gave up (its AbortSignal fired) while frames were still queued, typically waiting for room in
 * a full tx stream. `sent` frames of that send are in the stream; the rest were never written.
 */
export class SendAbortedError extends DomainError {
  constructor(
    readonly sent: number,
    readonly total: number,
    options: DomainErrorOptions = {},
  ) {
    super('SEND_ABORTED', `send aborted after ${sent} of ${total} frames; the rest were not sent`, options);
  }
}
