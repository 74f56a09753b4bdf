/**
 * Deciding whether to trust a driver's buffer timestamp. V4L2 drivers stamp on CLOCK_MONOTONIC (the clock
 * senseflow uses), but some lie: no stamp at all, a wall-clock stamp, stamps running backwards. Like
 * GStreamer's v4l2src we check each stamp's behaviour rather than the flags — v4l2loopback stamps on
 * CLOCK_MONOTONIC without setting V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC. A stamp later than the moment we
 * dequeued the buffer is not a capture time (vivid in its default "end of frame" mode stamps the *scheduled*
 * end of a frame, a period after handing the buffer over): such frames get the receive time, flagged.
 */

export interface StampDecision {
  /** The capture time to publish: the driver's stamp, or the receive time when it was not sane. */
  captureNs: bigint;
  /** Why the driver's stamp was not used (null when it was). */
  fallback: string | null;
}

export class TimestampGuard {
  private last = -1n;

  /**
   * @param maxAgeNs a stamp older than this at dequeue is not on our clock (e.g. wall-clock or boot time)
   * @param futureSlackNs how far past the receive time a stamp may lie (clock reads on different paths)
   */
  constructor(
    private readonly maxAgeNs: bigint = 30_000_000_000n,
    private readonly futureSlackNs: bigint = 1_000_000n,
  ) {}

  check(tsNs: bigint, nowNs: bigint): StampDecision {
    let fallback: string | null = null;
    if (tsNs <= 0n) fallback = 'the driver gave no timestamp';
    else if (tsNs > nowNs + this.futureSlackNs) fallback = 'the driver timestamp lies after the frame was received';
    else if (nowNs - tsNs > this.maxAgeNs) fallback = 'the driver timestamp is too old to be CLOCK_MONOTONIC';
    else if (tsNs <= this.last) fallback = 'the driver timestamps ran backwards';
    let captureNs = fallback ? nowNs : tsNs;
    // Published capture times never run backwards, whatever mix of sources they came from.
    if (captureNs <= this.last) captureNs = this.last + 1n;
    this.last = captureNs;
    return { captureNs, fallback };
  }
}
