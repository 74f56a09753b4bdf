/**
 * A byte scanner over procfs/sysfs text: parses ASCII numbers straight out of a Buffer, never creating a
 * string, so the sampling path allocates nothing. One instance per parser module, reset per call
 * (parsing is synchronous, so sharing is safe).
 */

const NL = 10;
const SPACE = 32;
const TAB = 9;
const ZERO = 48;
const NINE = 57;
const MINUS = 45;
const DOT = 46;
const POW10 = Float64Array.from({ length: 400 }, (_, i) => 10 ** i);

export class ByteScanner {
  buf: Uint8Array = new Uint8Array(0);
  len = 0;
  pos = 0;
  /**
   * Holds the number parsed by the last {@link num} call. A typed-array cell, because V8 boxes a double
   * (a heap allocation) when it is returned from a call or stored in a plain field, once it leaves the
   * small-integer range — and byte counters do.
   */
  private readonly cell = new Float64Array(1);

  /** The number parsed by the last {@link num} call. */
  get value(): number {
    return this.cell[0];
  }

  reset(buf: Uint8Array, len: number, pos = 0): this {
    this.buf = buf;
    this.len = len;
    this.pos = pos;
    return this;
  }

  get done(): boolean {
    return this.pos >= this.len;
  }

  /** Skips spaces and tabs (not newlines). */
  skipBlanks(): void {
    const { buf, len } = this;
    let p = this.pos;
    while (p < len && (buf[p] === SPACE || buf[p] === TAB)) p++;
    this.pos = p;
  }

  /** Skips blanks, then one token (anything up to a blank or newline). */
  skipToken(): void {
    this.skipBlanks();
    const { buf, len } = this;
    let p = this.pos;
    while (p < len && buf[p] !== SPACE && buf[p] !== TAB && buf[p] !== NL) p++;
    this.pos = p;
  }

  /** Moves past the next newline. */
  nextLine(): void {
    const { buf, len } = this;
    let p = this.pos;
    while (p < len && buf[p] !== NL) p++;
    this.pos = p < len ? p + 1 : len;
  }

  /** Moves to the byte after the next `ch` on this line; false (position at end of line) when absent. */
  skipPast(ch: number): boolean {
    const { buf, len } = this;
    let p = this.pos;
    while (p < len && buf[p] !== ch && buf[p] !== NL) p++;
    if (p < len && buf[p] === ch) {
      this.pos = p + 1;
      return true;
    }
    this.pos = p;
    return false;
  }

  /** Like {@link num}, returning the value (convenient; may allocate for large values). */
  number(): number {
    this.num();
    return this.value;
  }

  /**
   * Skips blanks and parses a decimal number (optional sign, optional fraction) into {@link value}: NaN when
   * there is no digit. Exact for integers up to 2^53 (beyond, counters lose their last digits, not magnitude).
   */
  num(): void {
    this.skipBlanks();
    const { buf, len } = this;
    let p = this.pos;
    let neg = false;
    if (p < len && buf[p] === MINUS) {
      neg = true;
      p++;
    }
    // Digits accumulate in two small-integer halves (9 digits each) and meet only in the final expression
    // stored to the cell: a running double would be boxed by V8 on every step past 2^30.
    let hi = 0;
    let lo = 0;
    let loDigits = 0;
    let extra = 0;
    let digits = 0;
    while (p < len && buf[p] >= ZERO && buf[p] <= NINE) {
      if (digits < 9) hi = hi * 10 + (buf[p] - ZERO);
      else if (digits < 18) {
        lo = lo * 10 + (buf[p] - ZERO);
        loDigits++;
      } else extra++; // beyond 2^53 anyway: keep the magnitude
      p++;
      digits++;
    }
    let frac = 0;
    let fracDigits = 0;
    if (p < len && buf[p] === DOT) {
      p++;
      while (p < len && buf[p] >= ZERO && buf[p] <= NINE) {
        if (fracDigits < 9) {
          frac = frac * 10 + (buf[p] - ZERO);
          fracDigits++;
        }
        p++;
        digits++;
      }
    }
    this.pos = p;
    if (digits === 0) {
      this.cell[0] = NaN;
      return;
    }
    // Integer part, then the fraction as numerator / 10^k: one rounding, so "1.36" is the double nearest 1.36.
    const int = (hi * POW10[loDigits] + lo) * POW10[extra < 400 ? extra : 399];
    const v = fracDigits === 0 ? int : (int * POW10[fracDigits] + frac) / POW10[fracDigits];
    this.cell[0] = neg ? -v : v;
  }

  /** True when the bytes at the position (after blanks) equal `word`; moves past them if so. */
  match(word: Uint8Array): boolean {
    this.skipBlanks();
    const { buf, len } = this;
    const p = this.pos;
    if (p + word.length > len) return false;
    for (let k = 0; k < word.length; k++) if (buf[p + k] !== word[k]) return false;
    this.pos = p + word.length;
    return true;
  }

  /** Current byte (or -1 at the end). */
  peek(): number {
    return this.pos < this.len ? this.buf[this.pos] : -1;
  }
}

/** ASCII bytes of a key, for {@link ByteScanner.match}. */
export const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

/** Parses the first number in a buffer (single-value sysfs/cgroup files). */
export function parseFirstNumber(buf: Uint8Array, len: number): number {
  return single.reset(buf, len).number();
}
const single = new ByteScanner();
