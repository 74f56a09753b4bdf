/**
 * Application-level flow control for one connection whose client acknowledges what it consumed (ACK
 * messages, docs/protocol.md "Flow control"). The server alone cannot see how much of what it wrote still
 * waits in the kernel's send buffer, on the wire, or in the client's receive buffer — together several
 * megabytes, seconds of data for a slow reader. With ACKs it can: bytes in flight = sent − acknowledged,
 * and they are kept within a window the client drains in a fixed share of `maxAgeMs`:
 *
 *   window = max(drain rate × maxAgeMs × WINDOW_SHARE, the largest message this connection was offered)
 *
 * The drain rate is measured from the ACKs themselves (bytes acknowledged over the last RATE_SPAN_MS). While
 * the window binds, that is the client's own consumption rate; while it does not (the source is slower
 * than the client), it is lower than what the client could take — an underestimate, which is safe (the
 * window only errs small) and corrects itself geometrically: a window the client drains in `t` measures a
 * rate of window / t, and the next window is that rate × the budget.
 */
import { ProtocolError } from './codec.js';

/** Share of maxAgeMs an item may spend in flight (the rest: waiting to be sent, ACK delay, estimate error). */
export const WINDOW_SHARE = 0.4;
/** Share of maxAgeMs an item may have aged when it is handed to an acking connection's socket. */
export const SEND_AGE_SHARE = 0.5;
/** The ACK cadence the server asks for (STREAMS `ack`). */
export const ACK_INTERVAL_MS = 25;
export const ACK_BYTES = 4 * 1024 * 1024;
/** The drain rate is measured over about this much recent ACK history. */
const RATE_SPAN_MS = 500;
/** The smallest window, before the first message says how large this connection's items are. */
const MIN_WINDOW = 64 * 1024;

export class FlowWindow {
  /** Bytes the client acknowledged (cumulative). */
  acked = 0;
  /** Measured drain rate, bytes per second (0 until the first ACK). */
  rate = 0;
  acks = 0;
  /** Largest message offered to this connection: the window never shrinks below one of them. */
  private largest = MIN_WINDOW;
  /** Recent ACKs (time ms, acked bytes), oldest first; the first is the anchor RATE_SPAN_MS back. */
  private readonly history: { t: number; bytes: number }[];
  private readonly budgetMs: number;

  constructor(maxAgeMs: number, now = performance.now()) {
    this.budgetMs = maxAgeMs * WINDOW_SHARE;
    this.history = [{ t: now, bytes: 0 }];
  }

  /** The current window in bytes. */
  get window(): number {
    return Math.max(this.largest, Math.round((this.rate * this.budgetMs) / 1000));
  }

  inFlight(sent: number): number {
    return sent - this.acked;
  }

  /** Whether a message of `bytes` may be written now, given `sent` bytes written so far. */
  allows(sent: number, bytes: number): boolean {
    if (bytes > this.largest) this.largest = bytes;
    const f = sent - this.acked;
    return f <= 0 || f + bytes <= this.window;
  }

  /** An ACK saying `consumed` bytes were consumed. Throws {@link ProtocolError} if it goes back or beyond what was sent. */
  onAck(consumed: bigint, sent: number, now = performance.now()): void {
    if (consumed > BigInt(sent)) throw new ProtocolError(`ACK of ${consumed} bytes, but only ${sent} were sent`, { acked: String(consumed), sent });
    const n = Number(consumed);
    if (n < this.acked) throw new ProtocolError(`ACK of ${n} bytes goes backwards (already acknowledged ${this.acked})`, { acked: n, previous: this.acked });
    this.acked = n;
    this.acks++;
    const h = this.history;
    h.push({ t: now, bytes: n });
    // Keep one sample at or beyond the span as the anchor; bound the list (a client may ack very often).
    while (h.length > 2 && (now - h[1].t >= RATE_SPAN_MS || h.length > 256)) h.shift();
    const span = now - h[0].t;
    if (span > 0) this.rate = ((n - h[0].bytes) * 1000) / span;
  }

  stats(sent: number): Record<string, number> {
    return { ackedBytes: this.acked, inFlightBytes: this.inFlight(sent), windowBytes: this.window, drainBytesPerSec: Math.round(this.rate), acks: this.acks };
  }
}
