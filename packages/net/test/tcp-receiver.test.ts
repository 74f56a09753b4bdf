// The zero-copy TCP receive path (tcp-receiver.ts): the socket reads into whatever buffer the receiver hands
// out — the ring slot itself for most of a raw frame — so every byte must land exactly, wherever the kernel
// happens to split the stream. A simulated socket drives it here with chosen read sizes (a real socket only
// ever gives the splits the kernel picks); remote.test.ts runs the same code over real TCP.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRingForSpec, FrameRingReader, FrameRingWriter, RelayWriter, resolveLogger, RingState, type VideoSpec } from '@senseflow/core';
import { jsonMessage, MsgType, NET_HEADER_BYTES as HEADER, writeHeader, type Message } from '@senseflow/net';
import { READ_BYTES, TcpReceiver } from '../src/tcp-receiver.js';

const SLOT = 4 * READ_BYTES;
const spec: VideoSpec = { kind: 'video', width: 1, height: 1, pixelFormat: 'gray8', stride: 1, fps: 30, ring: { slots: 12, slotBytes: SLOT } };

/** A VIDEO message with a payload of `n` pseudo-random bytes (different for every seq). */
function video(stream: number, seq: number, n: number): { bytes: Uint8Array; payload: Uint8Array } {
  const bytes = new Uint8Array(HEADER + n);
  writeHeader(bytes, { type: MsgType.VIDEO, stream, seq: BigInt(seq), captureNs: BigInt(1000 + seq), f0: n, f1: 1, f2: n, f3: 7, payloadBytes: n });
  let x = (seq * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[HEADER + i] = x >>> 24;
  }
  return { bytes, payload: bytes.subarray(HEADER) };
}

/**
 * One connection's worth of messages: frames for stream 1 (written in place) with payload sizes around the
 * read size and the header size, not multiples of either; a frame for stream 2 (not wanted: skipped); and
 * control messages between them (handled whole).
 */
function conversation(sizes: number[]) {
  const parts: Uint8Array[] = [];
  const frames: { seq: number; payload: Uint8Array }[] = [];
  const controls: number[] = [];
  sizes.forEach((n, i) => {
    const v = video(1, i, n);
    parts.push(v.bytes);
    frames.push({ seq: i, payload: v.payload });
    if (i % 2 === 0) {
      parts.push(video(2, i, (n >> 1) + 3).bytes);
      parts.push(jsonMessage(MsgType.STATS, { i, pad: 'x'.repeat(i * 37) }));
      controls.push(i);
    }
  });
  const wire = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    wire.set(p, o);
    o += p.length;
  }
  return { wire, frames, controls };
}

function relayRing() {
  const sab = createRingForSpec(spec);
  const writer = new FrameRingWriter(sab);
  writer.setState(RingState.running);
  return { sab, relay: new RelayWriter(writer, { spec }) };
}

/** Feeds `wire[from, to)` as a socket with onread would: each read fills at most `readSize(k)` bytes of the buffer handed out. */
function feed(rx: TcpReceiver, wire: Uint8Array, readSize: (k: number) => number, from = 0, to = wire.length): void {
  for (let off = from, k = 0; off < to; k++) {
    const buf = rx.readBuffer();
    const n = Math.min(buf.length, Math.max(1, readSize(k)), to - off);
    buf.set(wire.subarray(off, off + n));
    rx.onRead(n);
    off += n;
  }
}

function receiver(relay: RelayWriter, seen: Message[] = []): TcpReceiver {
  return new TcpReceiver({
    maxMessageBytes: SLOT,
    answered: () => true,
    relayFor: (id) => (id === 1 ? relay : null),
    sender: () => 'server-a',
    onWhole: (m) => seen.push({ ...m, payload: m.payload.slice() }),
    log: resolveLogger(),
  });
}

/** Feeds `wire` as a socket with onread would: each read fills at most `readSize(k)` bytes of the buffer handed out. */
function receive(wire: Uint8Array, readSize: (k: number) => number) {
  const { sab, relay } = relayRing();
  const seen: Message[] = [];
  const rx = new TcpReceiver({
    maxMessageBytes: SLOT,
    answered: () => true,
    relayFor: (id) => (id === 1 ? relay : null),
    sender: () => 'server-a',
    onWhole: (m) => seen.push({ ...m, payload: m.payload.slice() }),
    log: resolveLogger(),
  });
  let inPlace = 0;
  for (let off = 0, k = 0; off < wire.length; k++) {
    const buf = rx.readBuffer();
    if (buf.buffer === sab) inPlace++;
    const n = Math.min(buf.length, Math.max(1, readSize(k)), wire.length - off);
    buf.set(wire.subarray(off, off + n));
    rx.onRead(n);
    off += n;
  }
  return { sab, seen, inPlace, relay };
}

/** Every frame of stream 1 is in the ring, byte for byte, with its seq and format fields; nothing else is. */
function expectExact(sab: SharedArrayBuffer, frames: { seq: number; payload: Uint8Array }[]) {
  const r = new FrameRingReader(sab);
  expect(r.head()).toBe(BigInt(frames.length));
  for (const f of frames) {
    const v = r.at(BigInt(f.seq));
    expect(v, `frame ${f.seq}`).not.toBeNull();
    expect(v!.byteLength).toBe(f.payload.length);
    expect(v!.width).toBe(f.payload.length);
    expect(v!.captureNs).toBe(BigInt(1000 + f.seq));
    expect(Buffer.compare(Buffer.from(v!.data.buffer, v!.data.byteOffset, v!.byteLength), Buffer.from(f.payload)), `frame ${f.seq} bytes`).toBe(0);
    r.release();
  }
}

describe('TcpReceiver (zero-copy receive into ring slots)', () => {
  const big = [READ_BYTES + 1, 3 * READ_BYTES + 17, READ_BYTES - 1, READ_BYTES, 2 * READ_BYTES + HEADER, 200_001, 0, 1, HEADER - 1];

  it('reads most of a large frame straight into its slot, and keeps every byte exact', () => {
    const { wire, frames, controls } = conversation(big);
    const { sab, seen, inPlace } = receive(wire, () => 1 << 30);
    expectExact(sab, frames);
    expect(inPlace).toBeGreaterThan(0);
    expect(seen.map((m) => JSON.parse(Buffer.from(m.payload).toString()).i)).toEqual(controls);
  });

  it('keeps every byte exact when the stream is split at every offset of the first messages', () => {
    const { wire, frames, controls } = conversation([70, READ_BYTES + 5, 3]);
    const first = frames[0].payload.length + 2 * HEADER + 40 + READ_BYTES; // into the second frame's payload
    for (let cut = 1; cut < first; cut += cut < 400 ? 1 : 499) {
      // A read ends at `cut`, then reads as large as the buffers allow.
      const { sab, seen } = receive(wire, (k) => (k === 0 ? cut : 1 << 30));
      expectExact(sab, frames);
      expect(seen.length).toBe(controls.length);
    }
  });

  it('keeps every byte exact for any sequence of read sizes (property)', () => {
    const { wire, frames, controls } = conversation(big);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 3 * READ_BYTES }), { minLength: 1, maxLength: 40 }), (sizes) => {
        const { sab, seen } = receive(wire, (k) => sizes[k % sizes.length]);
        expectExact(sab, frames);
        expect(seen.map((m) => JSON.parse(Buffer.from(m.payload).toString()).i)).toEqual(controls);
      }),
      { numRuns: 60 },
    );
  });

  it('a connection lost mid-payload gives the slot back: the next connection writes its frames, the abandoned one is counted', () => {
    const { wire, frames } = conversation([2 * READ_BYTES + 9, 3 * READ_BYTES + 1]);
    const { sab, relay } = relayRing();
    const first = receiver(relay);
    feed(first, wire, () => 1 << 30, 0, HEADER + READ_BYTES + 100); // into frame 0's payload, read in place
    first.close();
    // The same server on a new connection: frames 0 and 1 again (frame 0 arrives whole this time).
    feed(receiver(relay), wire, () => 1 << 30);
    const r = new FrameRingReader(sab);
    const newest = r.latest()!;
    expect(Buffer.compare(Buffer.from(newest.data.buffer, newest.data.byteOffset, newest.byteLength), Buffer.from(frames[1].payload))).toBe(0);
    r.release();
    expect(r.drops().network).toBe(1);
  });

  it('reads of a few bytes at a time (headers split everywhere) still give exact frames', () => {
    const { wire, frames } = conversation([HEADER + 3, 5, 1, READ_BYTES + 2]);
    for (const step of [1, 2, 3, 7, 55, 57]) expectExact(receive(wire, () => step).sab, frames);
  });
});
