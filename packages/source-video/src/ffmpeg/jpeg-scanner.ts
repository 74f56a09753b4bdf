/**
 * Finds JPEG image boundaries in a byte stream cut at arbitrary points (concatenated JPEGs, as
 * `ffmpeg -f mjpeg` writes them). It follows the marker structure instead of searching for FF D9, so an
 * EOI inside a length-prefixed segment (an EXIF thumbnail, a comment) does not end the image early, and
 * progressive images (several scans) work. Allocation-free; state survives across chunks.
 */

/** What {@link JpegScanner.scan} stopped at. */
export const JpegEvent = {
  /** The chunk was consumed without an event. */
  none: 0,
  /** An SOI marker: an image starts at `pos - 2` (its FF byte may have been the last byte of the previous chunk). */
  start: 1,
  /** An EOI marker: the image ends just before `pos`. */
  end: 2,
  /** The header was malformed: the image so far is garbage; the scanner is looking for the next SOI. */
  abandon: 3,
} as const;
export type JpegEventCode = (typeof JpegEvent)[keyof typeof JpegEvent];

const SEEK = 0; // outside an image, looking for FF
const SEEK_FF = 1; // outside an image, saw FF (D8 starts an image)
const EXPECT_FF = 2; // in the header, a marker must come next
const MARKER = 3; // saw FF, the marker code comes next
const LEN_HI = 4;
const LEN_LO = 5;
const SKIP = 6; // skipping a segment's payload
const ENTROPY = 7; // in entropy-coded data, looking for FF
const ENTROPY_FF = 8; // in entropy-coded data, saw FF

const SOS = 0xda;

export class JpegScanner {
  private state = SEEK;
  private segLen = 0;
  private remaining = 0;
  private sos = false;
  /** Position right after the last event (SOI or EOI byte), in the coordinates of the last `scan` call. */
  pos = 0;
  /** Images that were abandoned because their header was malformed. */
  abandoned = 0;

  /** True between an SOI and its EOI. */
  get inImage(): boolean {
    return this.state !== SEEK && this.state !== SEEK_FF;
  }
  /** True when the last byte seen was an FF outside an image (it may be the start of an SOI). */
  get pendingFF(): boolean {
    return this.state === SEEK_FF;
  }

  /** Forgets everything (a new stream starts). */
  reset(): void {
    this.state = SEEK;
    this.pos = 0;
  }

  /**
   * Scans `buf[from, to)` and stops at the first event; `pos` is where it stopped (call again from `pos`).
   */
  scan(buf: Uint8Array, from: number, to: number): JpegEventCode {
    let i = from;
    while (i < to) {
      switch (this.state) {
        case SEEK: {
          const j = buf.subarray(i, to).indexOf(0xff);
          if (j < 0) {
            i = to;
            break;
          }
          i += j + 1;
          this.state = SEEK_FF;
          break;
        }
        case SEEK_FF: {
          const b = buf[i++];
          if (b === 0xd8) {
            this.state = EXPECT_FF;
            return this.stop(i, JpegEvent.start);
          }
          if (b !== 0xff) this.state = SEEK;
          break;
        }
        case EXPECT_FF:
          if (buf[i++] === 0xff) this.state = MARKER;
          else return this.fail(i);
          break;
        case MARKER:
        case ENTROPY_FF: {
          const m = buf[i++];
          const inScan = this.state === ENTROPY_FF;
          if (m === 0xff) break; // fill byte
          if (m === 0xd9) {
            this.state = SEEK;
            return this.stop(i, JpegEvent.end);
          }
          if (inScan && (m === 0x00 || (m >= 0xd0 && m <= 0xd7))) {
            this.state = ENTROPY; // stuffed FF or restart marker: still entropy data
            break;
          }
          if (m === 0xd8) {
            // A new image before the last one ended: the last one was truncated.
            this.state = EXPECT_FF;
            this.abandoned++;
            return this.stop(i, JpegEvent.start);
          }
          if (m === 0x00) return this.fail(i);
          if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
            this.state = EXPECT_FF; // markers without a length
            break;
          }
          this.sos = m === SOS;
          this.state = LEN_HI;
          break;
        }
        case LEN_HI:
          this.segLen = buf[i++] << 8;
          this.state = LEN_LO;
          break;
        case LEN_LO:
          this.segLen |= buf[i++];
          if (this.segLen < 2) return this.fail(i);
          this.remaining = this.segLen - 2;
          this.state = this.remaining > 0 ? SKIP : this.sos ? ENTROPY : EXPECT_FF;
          break;
        case SKIP: {
          const n = Math.min(this.remaining, to - i);
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = this.sos ? ENTROPY : EXPECT_FF;
          break;
        }
        case ENTROPY: {
          const j = buf.subarray(i, to).indexOf(0xff);
          if (j < 0) {
            i = to;
            break;
          }
          i += j + 1;
          this.state = ENTROPY_FF;
          break;
        }
      }
    }
    return this.stop(to, JpegEvent.none);
  }

  private stop(i: number, ev: JpegEventCode): JpegEventCode {
    this.pos = i;
    return ev;
  }

  private fail(i: number): JpegEventCode {
    this.state = SEEK;
    this.abandoned++;
    return this.stop(i, JpegEvent.abandon);
  }
}
