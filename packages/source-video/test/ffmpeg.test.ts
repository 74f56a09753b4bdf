// Unit tests of the ffmpeg backend's pure parts: option validation, the command lines it builds, error
// classification, and frame assembly from a pipe cut at arbitrary points (fast-check).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError, SenseflowError } from '@senseflow/core';
import { JpegAssembler, RawAssembler, type FrameSlots } from '../src/ffmpeg/assembler.js';
import { ffmpegFailure, ffmpegMissing } from '../src/ffmpeg/errors.js';
import { JpegEvent, JpegScanner } from '../src/ffmpeg/jpeg-scanner.js';
import { guessLive, parseFfmpegOptions } from '../src/ffmpeg/options.js';
import { needsProbe, planFfmpeg } from '../src/ffmpeg/plan.js';

function invalid(fn: () => unknown): InvalidOptionError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidOptionError);
    return e as InvalidOptionError;
  }
  throw new Error('expected an InvalidOptionError');
}

describe('ffmpeg options', () => {
  it('fills defaults', () => {
    const o = parseFfmpegOptions({ input: 'clip.mp4' });
    expect(o).toMatchObject({ input: 'clip.mp4', pixelFormat: 'rgb24', realtime: true, loop: false, live: false, reconnect: true, slots: 8 });
    expect(o.width).toBeUndefined();
  });

  it('names the bad parameter and lists the choices', () => {
    const e = invalid(() => parseFfmpegOptions({ input: 'a.mp4', pixelFormat: 'h264' }));
    expect(e.parameter).toBe('pixelFormat');
    expect(e.code).toBe('EINVAL');
    expect(e.message).toContain('rgb24, bgr24, gray8, rgba, yuyv, nv12, mjpeg');
    expect(invalid(() => parseFfmpegOptions({ input: 'a.mp4', colour: 1 })).parameter).toBe('colour');
    expect(invalid(() => parseFfmpegOptions({})).parameter).toBe('input');
    expect(invalid(() => parseFfmpegOptions({ input: '' })).parameter).toBe('input');
    expect(invalid(() => parseFfmpegOptions({ input: 'a', fps: 0 })).parameter).toBe('fps');
    expect(invalid(() => parseFfmpegOptions({ input: 'a', slots: 1 })).parameter).toBe('slots');
    expect(invalid(() => parseFfmpegOptions({ input: 'a', loop: 'yes' })).parameter).toBe('loop');
    expect(invalid(() => parseFfmpegOptions({ input: 'a', inputOptions: ['-f', 3] })).parameter).toBe('inputOptions');
    expect(invalid(() => parseFfmpegOptions({ input: 'a', jpegQuality: 1 })).parameter).toBe('jpegQuality');
    expect(invalid(() => parseFfmpegOptions({ input: 'a', transport: 'tcp' })).parameter).toBe('transport');
  });

  it('wants width and height together, and even sizes for chroma-subsampled formats', () => {
    expect(invalid(() => parseFfmpegOptions({ input: 'a', width: 640 })).parameter).toBe('height');
    expect(invalid(() => parseFfmpegOptions({ input: 'a', height: 480 })).parameter).toBe('width');
    expect(invalid(() => parseFfmpegOptions({ input: 'a', width: 641, height: 480, pixelFormat: 'yuyv' })).parameter).toBe('width');
    expect(invalid(() => parseFfmpegOptions({ input: 'a', width: 640, height: 481, pixelFormat: 'nv12' })).parameter).toBe('height');
    expect(parseFfmpegOptions({ input: 'a', width: 640, height: 481, pixelFormat: 'yuyv' }).height).toBe(481);
  });

  it('guesses which inputs are live', () => {
    expect(guessLive('rtsp://cam/stream', undefined)).toBe(true);
    expect(guessLive('http://127.0.0.1:8080/video', undefined)).toBe(true);
    expect(guessLive(':0.0', 'x11grab')).toBe(true);
    expect(guessLive('0', 'avfoundation')).toBe(true);
    expect(guessLive('/data/clip.mp4', undefined)).toBe(false);
    expect(guessLive('testsrc2', 'lavfi')).toBe(false);
    expect(parseFfmpegOptions({ input: 'rtsp://x/y', live: false }).live).toBe(false);
  });

  it('takes the X11 display from $DISPLAY when input is left out', () => {
    const before = process.env.DISPLAY;
    process.env.DISPLAY = ':42';
    try {
      expect(parseFfmpegOptions({ format: 'x11grab' }).input).toBe(':42');
    } finally {
      if (before === undefined) delete process.env.DISPLAY;
      else process.env.DISPLAY = before;
    }
  });
});

describe('ffmpeg command line', () => {
  const probe = { width: 1280, height: 720, fps: 25, codec: 'h264' };
  const after = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

  it('plays a file paced, at its own size, as raw frames on stdout', () => {
    const o = parseFfmpegOptions({ input: 'clip.mp4' });
    expect(needsProbe(o)).toBe(true);
    const p = planFfmpeg(o, probe, [5, 1]);
    expect(p).toMatchObject({ width: 1280, height: 720, fps: 25, stride: 3840, frameBytes: 1280 * 720 * 3, slotBytes: 1280 * 720 * 3 });
    expect(p.args).toContain('-re');
    expect(p.args).not.toContain('-stream_loop');
    expect(p.args).not.toContain('-vf');
    expect(after(p.args, '-i')).toBe('clip.mp4');
    expect(after(p.args, '-pix_fmt')).toBe('rgb24');
    expect(after(p.args, '-f')).toBe('rawvideo');
    expect(after(p.args, '-fps_mode')).toBe('passthrough');
    expect(after(p.args, '-flush_packets')).toBe('1');
    expect(p.args.at(-1)).toBe('pipe:1');
    expect(p.args.indexOf('-re')).toBeLessThan(p.args.indexOf('-i'));
  });

  it('loops, scales, converts the rate, and spells options for old ffmpeg', () => {
    const o = parseFfmpegOptions({ input: 'clip.mp4', loop: true, realtime: false, width: 320, height: 180, fps: 10, pixelFormat: 'yuyv' });
    expect(needsProbe(o)).toBe(false);
    const p = planFfmpeg(o, null, [4, 4]);
    expect(after(p.args, '-stream_loop')).toBe('-1');
    expect(p.args).not.toContain('-re');
    expect(after(p.args, '-vf')).toBe('scale=320:180,fps=10');
    expect(after(p.args, '-pix_fmt')).toBe('yuyv422');
    expect(after(p.args, '-vsync')).toBe('passthrough');
    expect(p).toMatchObject({ width: 320, height: 180, fps: 10, stride: 640, frameBytes: 320 * 180 * 2 });
  });

  it('treats live inputs as live: no pacing, no loop, input format and options before -i', () => {
    const o = parseFfmpegOptions({ format: 'x11grab', input: ':99', inputOptions: ['-video_size', '640x480'], loop: true, pixelFormat: 'bgr24' });
    const p = planFfmpeg(o, { width: 640, height: 480, fps: 29.97, codec: 'rawvideo' });
    expect(p.args).not.toContain('-re');
    expect(p.args).not.toContain('-stream_loop');
    expect(p.args).not.toContain('-fflags');
    expect(p.args.slice(p.args.indexOf('-f'), p.args.indexOf('-i') + 2)).toEqual(['-f', 'x11grab', '-video_size', '640x480', '-i', ':99']);
    expect(after(p.args, '-pix_fmt')).toBe('bgr24');
  });

  it('passes MJPEG through only when the input is MJPEG and nothing is scaled', () => {
    const o = parseFfmpegOptions({ input: 'http://127.0.0.1:1/v', pixelFormat: 'mjpeg' });
    const copy = planFfmpeg(o, { width: 640, height: 480, fps: 0, codec: 'mjpeg' });
    expect(copy.passthrough).toBe(true);
    expect(after(copy.args, '-c:v')).toBe('copy');
    expect(after(copy.args, '-f')).toBe('mjpeg');
    expect(copy.stride).toBe(0);
    expect(copy.frameBytes).toBeNull();
    expect(copy.fps).toBe(30);
    expect(copy.notes.join(' ')).toMatch(/nominal guess/);
    const encode = planFfmpeg(o, { width: 640, height: 480, fps: 30, codec: 'h264' });
    expect(encode.passthrough).toBe(false);
    expect(after(encode.args, '-c:v')).toBe('mjpeg');
    const scaled = planFfmpeg(parseFfmpegOptions({ input: 'x.mjpeg', pixelFormat: 'mjpeg', width: 320, height: 240 }), { width: 640, height: 480, fps: 30, codec: 'mjpeg' });
    expect(scaled.passthrough).toBe(false);
  });

  it('rounds odd input sizes down for nv12 and sizes frames per format', () => {
    const p = planFfmpeg(parseFfmpegOptions({ input: 'a.mp4', pixelFormat: 'nv12' }), { width: 321, height: 241, fps: 30, codec: 'h264' });
    expect(p).toMatchObject({ width: 320, height: 240, stride: 320, frameBytes: (320 * 240 * 3) / 2 });
    expect(p.args[p.args.indexOf('-vf') + 1]).toBe('scale=320:240');
    const sizes = { rgb24: 3, bgr24: 3, rgba: 4, gray8: 1 } as const;
    for (const [pixelFormat, bpp] of Object.entries(sizes)) {
      const q = planFfmpeg(parseFfmpegOptions({ input: 'a.mp4', pixelFormat }), { width: 100, height: 50, fps: 30, codec: 'h264' });
      expect([q.stride, q.frameBytes]).toEqual([100 * bpp, 100 * 50 * bpp]);
    }
  });
});

describe('ffmpeg errors', () => {
  it('classifies ffmpeg failures and quotes its last lines', () => {
    const nf = ffmpegFailure('ffmpeg', 'gone.mp4', ['gone.mp4: No such file or directory'], 'exit code 1');
    expect(nf.code).toBe('ENODEV');
    expect(nf.name).toBe('DeviceNotFoundError');
    expect(nf.message).toContain('gone.mp4: No such file or directory');
    expect(ffmpegFailure('ffmpeg', 'rtsp://x', ['Connection to tcp://x:554 failed: Connection refused'], 'exit code 1').code).toBe('ENODEV');
    expect(ffmpegFailure('ffmpeg', ':9', ['[x11grab @ 0x1] Cannot open display :9, error 1.'], 'exit code 1').code).toBe('ENODEV');
    expect(ffmpegFailure('ffmpeg', 'a.txt', ['a.txt: Invalid data found when processing input'], 'exit code 1').code).toBe('EUNSUPPORTED');
    const other = ffmpegFailure('ffmpeg', 'a', ['something odd'], 'killed by SIGSEGV');
    expect(other.code).toBe('EIO');
    expect(other.message).toContain('killed by SIGSEGV');
    expect(SenseflowError.isInstance(other)).toBe(true);
  });

  it('tells what to install when the binary is missing', () => {
    const e = ffmpegMissing('/opt/none/ffmpeg', Object.assign(new Error('spawn ENOENT'), { code: 'ENOENT' }));
    expect(e.code).toBe('ENATIVE');
    expect(e.message).toContain('Possible solutions');
    expect(e.message).toContain('apt-get install ffmpeg');
    expect(e.details).toMatchObject({ errno: 'ENOENT', binary: '/opt/none/ffmpeg' });
  });
});

// ---- frame assembly -----------------------------------------------------------------------------

/** Fake ring: `slots` slots of `capacity` bytes; begin() fails when `full()` says so. Committed frames are copied out. */
function fakeSlots(capacity: number, slots = 3, full: () => boolean = () => false) {
  const mem = new Uint8Array(capacity * slots);
  const committed: Uint8Array[] = [];
  const drops: Record<string, number> = {};
  let next = 0;
  let open = -1;
  let nulls = 0;
  const sink: FrameSlots = {
    begin() {
      if (open >= 0) throw new Error('begin() twice');
      if (full()) {
        nulls++;
        return null;
      }
      open = next;
      next = (next + 1) % slots;
      return mem.subarray(open * capacity, (open + 1) * capacity);
    },
    commit(n) {
      if (open < 0) throw new Error('commit() without begin()');
      committed.push(mem.slice(open * capacity, open * capacity + n));
      open = -1;
    },
    abort() {
      open = -1;
    },
    drop(count, why) {
      drops[why] = (drops[why] ?? 0) + count;
    },
  };
  return { sink, committed, drops, mem, nulls: () => nulls };
}

/** Feeds `stream` through the assembler as a pipe would: reads of at most the given sizes into target(). */
function pump(a: { target(): Uint8Array; wrote(n: number): void; end(): void }, stream: Uint8Array, reads: number[]): void {
  let off = 0;
  let k = 0;
  while (off < stream.length) {
    const t = a.target();
    expect(t.length).toBeGreaterThan(0);
    const n = Math.min(t.length, stream.length - off, Math.max(1, reads[k++ % reads.length] ?? 4096));
    t.set(stream.subarray(off, off + n));
    off += n;
    a.wrote(n);
  }
  a.end();
}

const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, (o += p.length) - p.length);
  return out;
};

describe('raw frame assembly', () => {
  it('reads every frame in place, whatever the read sizes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 12 }), fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 20 }), (size, count, reads) => {
        const frames = Array.from({ length: count }, (_, f) => Uint8Array.from({ length: size }, (_, i) => (f * 7 + i * 13) & 0xff));
        const ring = fakeSlots(size);
        const a = new RawAssembler(ring.sink, size);
        // Every target must be the rest of the current slot: the kernel writes straight into the ring.
        const target = a.target.bind(a);
        a.target = () => {
          const t = target();
          expect(t.buffer).toBe(ring.mem.buffer);
          return t;
        };
        pump(a, concat(frames), reads);
        expect(ring.committed).toEqual(frames);
        expect(a.frames).toBe(count);
        expect(ring.drops).toEqual({});
      }),
    );
  });

  it('skips frames while the ring is full and counts a cut-off frame', () => {
    let calls = 0;
    const ring = fakeSlots(10, 3, () => ++calls % 2 === 0);
    const a = new RawAssembler(ring.sink, 10);
    const frames = Array.from({ length: 6 }, (_, f) => new Uint8Array(10).fill(f + 1));
    pump(a, concat([...frames, new Uint8Array(4).fill(99)]), [3]);
    expect(ring.committed).toEqual([frames[0], frames[2], frames[4]]);
    expect(ring.drops).toEqual({ truncated: 1 });
  });
});

// A synthetic JPEG with the structures that trip naive splitters: FF D9 / FF D8 inside length-prefixed
// segments (a thumbnail in APP1, a comment), stuffed FF 00 and restart markers in the entropy data,
// fill bytes before markers, and a second scan (progressive).
const payload = fc.uint8Array({ minLength: 0, maxLength: 60 });
const entropy = fc.uint8Array({ minLength: 0, maxLength: 200 }).map((b) => {
  const out: number[] = [];
  for (const x of b) {
    out.push(x);
    if (x === 0xff) out.push(0x00);
  }
  return out;
});
const segment = (marker: number, body: ArrayLike<number>) => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...Array.from(body)];
const jpegArb = fc
  .record({
    app: payload,
    thumb: fc.boolean(),
    comment: fc.boolean(),
    fill: fc.boolean(),
    scans: fc.array(fc.record({ header: payload, data: entropy, rst: fc.boolean() }), { minLength: 1, maxLength: 3 }),
  })
  .map(({ app, thumb, comment, fill, scans }) => {
    const b: number[] = [0xff, 0xd8, ...segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0, ...app])];
    if (thumb) b.push(...segment(0xe1, [0x45, 0x78, 0x69, 0x66, 0, 0, 0xff, 0xd8, 0xff, 0xdb, 1, 2, 0xff, 0xd9]));
    if (comment) b.push(...segment(0xfe, [0xff, 0xd9, 0xff, 0xd8, 0xff]));
    b.push(...segment(0xdb, [0, 1, 2, 3]));
    b.push(...segment(0xc0, [8, 0, 16, 0, 16, 1, 1, 0x11, 0]));
    for (const s of scans) {
      if (fill) b.push(0xff);
      b.push(...segment(0xc4, [0, 0xff, 0xd9]));
      b.push(...segment(0xda, [1, 1, 0, 0, 63, 0, ...s.header]));
      const half = Math.floor(s.data.length / 2);
      b.push(...s.data.slice(0, half));
      if (s.rst) b.push(0xff, 0xd3);
      b.push(...s.data.slice(half));
    }
    b.push(0xff, 0xd9);
    return Uint8Array.from(b);
  });
// Garbage between images (no FF, so it cannot hold a marker).
const garbage = fc.uint8Array({ minLength: 0, maxLength: 8 }).map((g) => g.map((x) => (x === 0xff ? 0x11 : x)));
const streamArb = fc.array(fc.tuple(garbage, jpegArb), { minLength: 1, maxLength: 8 });
const readsArb = fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 16 });

describe('JPEG splitting', () => {
  it('the scanner finds exactly the images, whatever the chunk boundaries', () => {
    fc.assert(
      fc.property(streamArb, readsArb, (parts, cuts) => {
        const stream = concat(parts.flat());
        const starts: number[] = [];
        const ends: number[] = [];
        const sc = new JpegScanner();
        let off = 0;
        let k = 0;
        while (off < stream.length) {
          const to = Math.min(stream.length, off + cuts[k++ % cuts.length]);
          let from = off;
          while (from < to) {
            const ev = sc.scan(stream, from, to);
            from = sc.pos;
            if (ev === JpegEvent.start) starts.push(from - 2);
            if (ev === JpegEvent.end) ends.push(from);
          }
          off = to;
        }
        let pos = 0;
        const want = parts.map(([g, j]) => {
          pos += g.length + j.length;
          return [pos - j.length, pos];
        });
        expect(starts).toEqual(want.map((w) => w[0]));
        expect(ends).toEqual(want.map((w) => w[1]));
        expect(sc.abandoned).toBe(0);
      }),
    );
  });

  it('the assembler puts each image, whole, at the start of a slot', () => {
    fc.assert(
      fc.property(streamArb, readsArb, (parts, reads) => {
        const ring = fakeSlots(4096);
        const a = new JpegAssembler(ring.sink);
        pump(a, concat(parts.flat()), reads);
        expect(ring.committed).toEqual(parts.map(([, j]) => j));
        expect(ring.drops).toEqual({});
      }),
    );
  });

  it('drops images larger than a slot and keeps the rest', () => {
    fc.assert(
      fc.property(streamArb, readsArb, fc.integer({ min: 40, max: 400 }), (parts, reads, capacity) => {
        const ring = fakeSlots(capacity);
        const a = new JpegAssembler(ring.sink);
        pump(a, concat(parts.flat()), reads);
        const images = parts.map(([, j]) => j);
        expect(ring.committed).toEqual(images.filter((j) => j.length <= capacity));
        expect(ring.drops['too-large'] ?? 0).toBe(images.filter((j) => j.length > capacity).length);
      }),
    );
  });

  it('skips images while the ring is full, never delivering a mixed one', () => {
    fc.assert(
      fc.property(streamArb, readsArb, fc.array(fc.boolean(), { minLength: 1, maxLength: 10 }), (parts, reads, pattern) => {
        let i = 0;
        const ring = fakeSlots(4096, 3, () => pattern[i++ % pattern.length]);
        const a = new JpegAssembler(ring.sink);
        pump(a, concat(parts.flat()), reads);
        const images = parts.map(([, j]) => j);
        // Delivered images are whole input images, in order.
        let at = 0;
        for (const c of ring.committed) {
          while (at < images.length && !eq(images[at], c)) at++;
          expect(at).toBeLessThan(images.length);
          at++;
        }
        // Each image is delivered or was refused a slot (the claim for the image after the last is extra).
        expect(ring.committed.length + ring.nulls()).toBeGreaterThanOrEqual(images.length);
        expect(ring.committed.length + ring.nulls()).toBeLessThanOrEqual(images.length + 1);
      }),
    );
  });

  it('recovers from a truncated image and from a malformed header', () => {
    const img = (n: number) => Uint8Array.from([0xff, 0xd8, ...segment(0xdb, [n]), ...segment(0xda, [1]), n, n, 0xff, 0xd9]);
    const truncated = img(1).subarray(0, 8);
    const malformed = Uint8Array.from([0xff, 0xd8, 0x12, 0x34]);
    const ring = fakeSlots(256);
    const a = new JpegAssembler(ring.sink);
    pump(a, concat([img(2), truncated, img(3), malformed, img(4)]), [5]);
    expect(ring.committed).toEqual([img(2), img(3), img(4)]);
    expect(ring.drops).toEqual({ damaged: 2 });
  });
});

function eq(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
