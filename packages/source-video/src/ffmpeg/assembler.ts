/**
 * Turns the bytes ffmpeg writes to its pipe into frames, in place: the pipe is read straight into ring-slot
 * memory (`target()` says where the next read goes, `wrote(n)` reports it), so a raw frame is never copied
 * after the kernel hands it over. Both assemblers are pure (no ring, no clock) so tests drive them with
 * fake slots and arbitrary chunk boundaries.
 */
import { JpegEvent, JpegScanner } from './jpeg-scanner.js';

/** Where frames go: in production a ring writer (begin/commit), in tests an array. */
export interface FrameSlots {
  /** Claims memory for the next frame, or null when none is free (the sink counts that loss itself). */
  begin(): Uint8Array | null;
  /** Publishes the first `byteLength` bytes of the claimed memory as a frame. */
  commit(byteLength: number): void;
  /** Gives the claimed memory back unpublished. */
  abort(): void;
  /** Counts frames lost here (damaged, larger than a slot, cut off by ffmpeg's exit). */
  drop(count: number, why: 'damaged' | 'too-large' | 'truncated'): void;
}

export interface FrameAssembler {
  /** Memory the next pipe read should fill (never empty). */
  target(): Uint8Array;
  /** `n` bytes were read into the last `target()`. */
  wrote(n: number): void;
  /** The stream ended (ffmpeg exited): a partial frame is given back, and counted as lost when `countLoss`. */
  end(countLoss?: boolean): void;
  /** Frames published so far. */
  readonly frames: number;
}

const SCRATCH_BYTES = 64 * 1024;

/** Raw frames of a fixed size: every read fills the rest of the current frame at most, so nothing is ever copied. */
export class RawAssembler implements FrameAssembler {
  private slot: Uint8Array | null = null;
  private claimed = false;
  private filled = 0;
  private scratch: Uint8Array | null = null;
  frames = 0;

  constructor(private readonly sink: FrameSlots, private readonly frameBytes: number) {}

  target(): Uint8Array {
    if (!this.claimed) {
      this.slot = this.sink.begin();
      this.claimed = true;
    }
    if (this.slot) return this.slot.subarray(this.filled, this.frameBytes);
    // No free slot: this frame is lost (already counted); read it into scratch memory to stay in step.
    this.scratch ??= new Uint8Array(SCRATCH_BYTES);
    return this.scratch.subarray(0, Math.min(SCRATCH_BYTES, this.frameBytes - this.filled));
  }

  wrote(n: number): void {
    this.filled += n;
    if (this.filled < this.frameBytes) return;
    if (this.slot) {
      this.sink.commit(this.frameBytes);
      this.frames++;
    }
    this.filled = 0;
    this.slot = null;
    this.claimed = false;
  }

  end(countLoss = true): void {
    if (this.slot) this.sink.abort();
    if (this.filled > 0 && countLoss) this.sink.drop(1, 'truncated');
    this.slot = null;
    this.claimed = false;
    this.filled = 0;
  }
}

/**
 * Concatenated JPEG images (mjpeg). Reads go into the current slot; an image that starts at the slot's
 * start and ends inside it is published in place. Only bytes that land elsewhere — after the end of the
 * previous image in the same read (rare: ffmpeg flushes each image) or after garbage — are copied, once.
 */
export class JpegAssembler implements FrameAssembler {
  private readonly scanner = new JpegScanner();
  /** Claimed slot for the current or next image; null while images are dropped (ring full, too large). */
  private slot: Uint8Array | null = null;
  private claimed = false;
  /** Bytes at the start of `slot` that belong to the image in progress. */
  private filled = 0;
  private readonly scratch = new Uint8Array(SCRATCH_BYTES);
  /** Memory of the last target() handed out, and where in it the read went. */
  private mem: Uint8Array = this.scratch;
  private memFrom = 0;
  frames = 0;

  constructor(private readonly sink: FrameSlots) {}

  target(): Uint8Array {
    if (!this.claimed) {
      this.slot = this.sink.begin();
      this.claimed = true;
    }
    if (this.slot) {
      this.mem = this.slot;
      this.memFrom = this.filled;
      return this.slot.subarray(this.filled);
    }
    this.mem = this.scratch;
    this.memFrom = 0;
    return this.scratch;
  }

  wrote(n: number): void {
    const sc = this.scanner;
    const mem = this.mem;
    const end = this.memFrom + n;
    let from = this.memFrom;
    // Where the image in progress starts in `mem` (its SOI): 0 when it continues in the slot.
    let imgStart = this.slot && mem === this.slot && sc.inImage ? 0 : -1;
    while (from < end) {
      const abandonedBefore = sc.abandoned;
      const ev = sc.scan(mem, from, end);
      if (sc.abandoned > abandonedBefore) this.sink.drop(sc.abandoned - abandonedBefore, 'damaged');
      from = sc.pos;
      if (ev === JpegEvent.start) imgStart = from - 2;
      else if (ev === JpegEvent.abandon) imgStart = -1;
      else if (ev === JpegEvent.end) {
        if (this.slot && this.place(mem, imgStart, from)) {
          this.sink.commit(from - imgStart);
          this.frames++;
        }
        // Claim the next image's slot now (also after a dropped image: try again for the next one).
        this.slot = this.sink.begin();
        imgStart = -1;
      }
    }
    if (!this.slot) return;
    if (!sc.inImage) {
      // Nothing of an image is pending: keep a trailing FF that may start an SOI.
      this.slot[0] = 0xff;
      this.filled = sc.pendingFF ? 1 : 0;
      return;
    }
    if (this.place(mem, imgStart, end)) this.filled = end - imgStart;
    if (this.filled === this.slot?.length) this.tooLarge();
  }

  /**
   * Makes `mem[imgStart, to)` the start of the slot (copying unless it already is), or drops the image
   * when it does not fit. `imgStart` may be -1 when the image's FF came in the previous read (scratch).
   */
  private place(mem: Uint8Array, imgStart: number, to: number): boolean {
    const slot = this.slot!;
    if (mem === slot && imgStart === 0) return true;
    const len = to - imgStart;
    if (len > slot.length) {
      this.tooLarge();
      return false;
    }
    slot.set(mem.subarray(imgStart + 2, to), 2); // set() copies correctly even when source and target overlap
    slot[0] = 0xff;
    slot[1] = 0xd8;
    return true;
  }

  private tooLarge(): void {
    this.sink.abort();
    this.sink.drop(1, 'too-large');
    this.slot = null; // skip to the image's end, then claim again
    this.filled = 0;
  }

  end(countLoss = true): void {
    if (this.slot) this.sink.abort();
    if (this.scanner.inImage && countLoss) this.sink.drop(1, 'truncated');
    this.slot = null;
    this.claimed = false;
    this.filled = 0;
    this.scanner.reset();
  }
}
