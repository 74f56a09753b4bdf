/**
 * NTP-style offset between a remote monotonic clock and ours. A probe sends at t0 (ours), the remote stamps
 * t1 (its clock), we receive at t2 (ours). offset = t1 − (t0 + t2)/2 maps remote → ours by subtraction;
 * its uncertainty is half the round trip. Keep the probe with the smallest round trip among recent ones.
 */
export interface ClockOffset {
  /** remote − local, in ns: localNs = remoteNs − offsetNs. */
  offsetNs: bigint;
  /** Half the round trip of the best probe: the offset is right to within ± this. */
  uncertaintyNs: bigint;
  /** When (local ns) the best probe was taken. */
  atNs: bigint;
  samples: number;
}

export class ClockSync {
  private probes: { offset: bigint; half: bigint; at: bigint }[] = [];
  constructor(private readonly keep = 8) {}

  add(t0: bigint, t1: bigint, t2: bigint): ClockOffset {
    const half = (t2 - t0) / 2n;
    this.probes.push({ offset: t1 - (t0 + t2) / 2n, half, at: t2 });
    if (this.probes.length > this.keep) this.probes.shift();
    return this.estimate()!;
  }

  estimate(): ClockOffset | null {
    if (!this.probes.length) return null;
    const best = this.probes.reduce((a, b) => (b.half < a.half ? b : a));
    return { offsetNs: best.offset, uncertaintyNs: best.half, atNs: best.at, samples: this.probes.length };
  }

  toLocal(remoteNs: bigint): bigint | null {
    const e = this.estimate();
    return e ? remoteNs - e.offsetNs : null;
  }
}
