/**
 * The pure-JS fallback engine: a real FFT of size n computed as one complex FFT of size n/2 (even samples
 * as real parts, odd as imaginary) followed by the split step that separates the two halves. The complex
 * FFT is iterative radix-2, two stages per pass (radix-2²), over split Float64 arrays (doubles: JS computes in double anyway, and typed
 * double arrays avoid a conversion per access). Used where the FFTW addon is missing.
 */
import type { FftEngine, FftPlan, MagnitudeOptions, RingWindows } from './engine.js';
import { checkForward, checkMagnitudes, checkRing, checkSize, magnitudeParams, type MagnitudeParams } from './checks.js';

class JsPlan implements FftPlan {
  readonly engine = 'js' as const;
  readonly bins: number;
  private readonly m: number;
  private readonly rev: Uint32Array;
  /** cos/sin(2πk/n) for k < n/2: the split step's twiddles; every 2nd entry is the n/2-point FFT's. */
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly re: Float64Array;
  private readonly im: Float64Array;
  /** The spectrum of the last transform: bins values each. */
  private readonly xr: Float64Array;
  private readonly xi: Float64Array;
  /** One windowed input of n samples (ring gathers land here). */
  private readonly buf: Float64Array;

  constructor(readonly size: number) {
    const m = size >> 1;
    this.m = m;
    this.bins = m + 1;
    this.rev = new Uint32Array(m);
    const bits = Math.log2(m);
    for (let i = 0; i < m; i++) {
      let r = 0;
      for (let b = 0, v = i; b < bits; b++, v >>= 1) r = (r << 1) | (v & 1);
      this.rev[i] = r;
    }
    this.cos = new Float64Array(m);
    this.sin = new Float64Array(m);
    for (let k = 0; k < m; k++) {
      this.cos[k] = Math.cos((2 * Math.PI * k) / size);
      this.sin[k] = Math.sin((2 * Math.PI * k) / size);
    }
    this.re = new Float64Array(m);
    this.im = new Float64Array(m);
    this.xr = new Float64Array(m + 1);
    this.xi = new Float64Array(m + 1);
    this.buf = new Float64Array(size);
  }

  forwardBatch(input: Float32Array, output: Float32Array, k: number): void {
    checkForward(this, input, output, k);
    const { size: n, bins, xr, xi } = this;
    for (let t = 0; t < k; t++) {
      this.transform(input, t * n, null);
      const o = t * bins * 2;
      for (let b = 0; b < bins; b++) {
        output[o + 2 * b] = xr[b];
        output[o + 2 * b + 1] = xi[b];
      }
    }
  }

  magnitudesBatch(input: Float32Array, output: Float32Array, k: number, opts: MagnitudeOptions = {}): void {
    checkMagnitudes(this, input, output, k, opts);
    const p = magnitudeParams(opts);
    for (let t = 0; t < k; t++) {
      this.transform(input, t * this.size, opts.window ?? null);
      this.writeMagnitudes(output, t * this.bins, p);
    }
  }

  ringBatch(r: RingWindows, output: Float32Array, opts: MagnitudeOptions = {}): void {
    checkRing(this, r, output, opts);
    const p = magnitudeParams(opts);
    const { size: n, buf } = this;
    const w = opts.window ?? null;
    const { samples, capacityFrames: cap, channels: chs, chans } = r;
    let item = 0;
    for (let j = 0; j < r.count; j++) {
      const pos = (r.startPos + ((j * r.hop) % cap)) % cap;
      const first = Math.min(n, cap - pos);
      for (let c = 0; c < chans.length; c++, item++) {
        const ch = chans[c];
        for (let i = 0; i < first; i++) buf[i] = samples[(pos + i) * chs + ch];
        for (let i = first; i < n; i++) buf[i] = samples[(i - first) * chs + ch];
        if (w) for (let i = 0; i < n; i++) buf[i] *= w[i];
        this.transform(buf, 0, null);
        this.writeMagnitudes(output, item * this.bins, p);
      }
    }
  }

  private writeMagnitudes(out: Float32Array, o: number, p: MagnitudeParams): void {
    const { xr, xi, bins } = this;
    const g2 = p.gain * p.gain;
    const e2 = p.edgeGain * p.edgeGain;
    for (let b = 0; b < bins; b++) {
      const pw = (xr[b] * xr[b] + xi[b] * xi[b]) * (b === 0 || b === bins - 1 ? e2 : g2);
      out[o + b] = p.kind === 0 ? Math.sqrt(pw) : p.kind === 1 ? pw : pw > p.floorPower ? 10 * Math.log10(pw) : p.floorDb;
    }
  }

  /** One radix-2 stage of butterflies (a, a + len/2) with twiddles W_len^j. */
  private stage(len: number): void {
    const { m, re, im, cos, sin } = this;
    const half = len >> 1;
    const step = (m / len) * 2; // W_len^j = W_n^(j·2m/len)
    for (let j = 0; j < half; j++) {
      const wr = cos[j * step];
      const wi = -sin[j * step];
      for (let i = j; i < m; i += len) {
        const k = i + half;
        const tr = wr * re[k] - wi * im[k];
        const ti = wr * im[k] + wi * re[k];
        re[k] = re[i] - tr;
        im[k] = im[i] - ti;
        re[i] += tr;
        im[i] += ti;
      }
    }
  }

  /** Stages `len` and `2·len` in one pass over each group of four points a, b = a + len/2, c = a + len, d = c + len/2. */
  private stagePair(len: number): void {
    const { m, re, im, cos, sin } = this;
    const q = len >> 1;
    const s1 = (2 * m) / len; // W_len^j
    const s2 = m / len; // W_2len^j
    for (let j = 0; j < q; j++) {
      const w1r = cos[j * s1], w1i = -sin[j * s1];
      const w2r = cos[j * s2], w2i = -sin[j * s2];
      for (let a = j; a < m; a += 2 * len) {
        const b = a + q, c = a + len, d = c + q;
        // stage len: (a, b) and (c, d) with W_len^j
        const tbr = w1r * re[b] - w1i * im[b], tbi = w1r * im[b] + w1i * re[b];
        const tdr = w1r * re[d] - w1i * im[d], tdi = w1r * im[d] + w1i * re[d];
        const ar = re[a] + tbr, ai = im[a] + tbi, br = re[a] - tbr, bi = im[a] - tbi;
        const cr = re[c] + tdr, ci = im[c] + tdi, dr = re[c] - tdr, di = im[c] - tdi;
        // stage 2·len: (a, c) with W_2len^j, (b, d) with W_2len^(j + len/2) = W_2len^j · (−i)
        const t1r = w2r * cr - w2i * ci, t1i = w2r * ci + w2i * cr;
        const t2r = w2i * dr + w2r * di, t2i = w2i * di - w2r * dr;
        re[a] = ar + t1r;
        im[a] = ai + t1i;
        re[c] = ar - t1r;
        im[c] = ai - t1i;
        re[b] = br + t2r;
        im[b] = bi + t2i;
        re[d] = br - t2r;
        im[d] = bi - t2i;
      }
    }
  }

  /** Real FFT of x[off … off+n) (times w when given) into xr/xi. */
  private transform(x: ArrayLike<number>, off: number, w: Float32Array | null): void {
    const { m, rev, re, im, cos, sin, xr, xi } = this;
    // Bit-reversed load of z[j] = x[2j] + i·x[2j+1], fused with the first (twiddle-free) radix-2 stage.
    for (let j = 0; j < m; j += 2) {
      const a = off + 2 * rev[j];
      const b = off + 2 * rev[j + 1];
      let ar = x[a], ai = x[a + 1], br = x[b], bi = x[b + 1];
      if (w) {
        ar *= w[a - off];
        ai *= w[a - off + 1];
        br *= w[b - off];
        bi *= w[b - off + 1];
      }
      re[j] = ar + br;
      im[j] = ai + bi;
      re[j + 1] = ar - br;
      im[j + 1] = ai - bi;
    }
    // Remaining stages len = 4 … m, two at a time (radix-2²: one load/store of 4 points per 2 stages);
    // a single radix-2 stage first when their count is odd.
    let len = 4;
    if ((Math.log2(m) - 1) % 2 === 1) {
      this.stage(len);
      len <<= 1;
    }
    for (; len * 2 <= m; len <<= 2) this.stagePair(len);
    // Split: X[k] = E[k] + W_n^k·O[k], with E = (Z[k] + conj Z[m−k])/2 and O = (Z[k] − conj Z[m−k])/(2i).
    xr[0] = re[0] + im[0];
    xi[0] = 0;
    xr[m] = re[0] - im[0];
    xi[m] = 0;
    for (let k = 1; k < m; k++) {
      const ar = re[k], ai = im[k], br = re[m - k], bi = -im[m - k];
      const er = 0.5 * (ar + br), ei = 0.5 * (ai + bi);
      const or = 0.5 * (ai - bi), oi = -0.5 * (ar - br);
      const c = cos[k], s = -sin[k];
      xr[k] = er + c * or - s * oi;
      xi[k] = ei + c * oi + s * or;
    }
  }
}

/** The pure-JS engine. Plans are cached per engine (one engine per thread). */
export class JsFftEngine implements FftEngine {
  readonly name = 'js' as const;
  readonly description = 'senseflow JS real FFT (radix-2², half-size complex + split)';
  private readonly plans = new Map<number, JsPlan>();

  plan(n: number): FftPlan {
    checkSize(n);
    let p = this.plans.get(n);
    if (!p) this.plans.set(n, (p = new JsPlan(n)));
    return p;
  }

  alloc(length: number): Float32Array {
    return new Float32Array(length);
  }
}
