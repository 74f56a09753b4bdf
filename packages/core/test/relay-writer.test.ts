import { describe, expect, it } from 'vitest';
import {
  FrameRingReader,
  FrameRingWriter,
  ItemFlags,
  RelayWriter,
  SampleRingReader,
  SampleRingWriter,
  createRingForSpec,
  staleThresholdMs,
  type RelayEvent,
  type StreamSpec,
} from '@senseflow/core';

const video: StreamSpec = { kind: 'video', width: 4, height: 1, pixelFormat: 'gray8', stride: 4, fps: 30, ring: { slots: 8, slotBytes: 4 } };
const audio: StreamSpec = { kind: 'audio', rate: 1000, channels: 1, format: 's16le', periodFrames: 10, ring: { capacityFrames: 1000 } };
const MS = 1_000_000n;

/** A relay over a fresh ring with a hand-driven receive clock. */
function setup(spec: StreamSpec) {
  const sab = createRingForSpec(spec);
  let t = 1_000n * MS;
  const events: RelayEvent[] = [];
  const writer = spec.kind === 'audio' ? new SampleRingWriter(sab) : new FrameRingWriter(sab);
  const relay = new RelayWriter(writer, { spec, onEvent: (e) => events.push(e), now: () => t });
  return {
    sab,
    relay,
    events,
    advance: (ms: number) => (t += BigInt(ms) * MS),
    drops: () => (spec.kind === 'audio' ? new SampleRingReader(sab) : new FrameRingReader(sab)).drops().network,
  };
}

const payload = (v: number) => new Uint8Array([v, v, v, v]);

describe('relay writer', () => {
  it('joins mid-stream without loss and keeps the sender seq in the first epoch; counts a seq jump exactly', () => {
    const { sab, relay, drops, advance } = setup(video);
    expect(relay.write({ seq: 100n, captureNs: 1n }, payload(1))).toBe(100n);
    advance(33);
    expect(relay.write({ seq: 101n, captureNs: 2n }, payload(2))).toBe(101n);
    advance(33 * 5);
    expect(relay.write({ seq: 106n, captureNs: 3n }, payload(3))).toBe(106n);
    expect(drops()).toBe(4);
    // An exact repeat of the last item is a duplicate: not written, not counted.
    expect(relay.write({ seq: 106n, captureNs: 3n }, payload(3))).toBeNull();
    expect(drops()).toBe(4);
    const r = new FrameRingReader(sab);
    expect(r.latest()!.seq).toBe(106n);
    expect(r.latest()!.flags & ItemFlags.DISCONTINUITY).toBe(ItemFlags.DISCONTINUITY);
  });

  it('a sender restart (seq from 0) is a new epoch: its first item is the newest at once, the gap is counted by time', () => {
    const { sab, relay, events, advance, drops } = setup(video);
    for (let s = 5000n; s < 5010n; s++) {
      relay.write({ seq: s, captureNs: s }, payload(Number(s & 0xffn)));
      advance(33);
    }
    relay.disconnected();
    advance(2000); // the sender was gone ~2 s: ~60 frames at 30 fps
    const seq = relay.write({ seq: 0n, captureNs: 42n }, payload(9));
    expect(seq).not.toBeNull();
    const r = new FrameRingReader(sab);
    const newest = r.latest()!;
    expect(newest.captureNs).toBe(42n);
    expect(newest.data[0]).toBe(9);
    expect(newest.flags & ItemFlags.DISCONTINUITY).toBeTruthy();
    const ep = events.find((e) => e.type === 'epoch')!;
    expect(ep).toMatchObject({ type: 'epoch', epoch: 2, by: 'time', unit: 'items', reason: 'seq reset' });
    // 2033 ms since the last item at 30 fps ≈ 61 periods, one of which is this item.
    expect(ep.type === 'epoch' && ep.lost).toBe(60);
    expect(drops()).toBe(60);
    expect(seq).toBe(5010n + 60n);
    // The new life continues normally: its seq jumps are counted by seq.
    advance(33);
    expect(relay.write({ seq: 3n, captureNs: 43n }, payload(9))).toBe(5010n + 60n + 3n);
    expect(drops()).toBe(62);
  });

  it('a new sender identity is a new epoch even when its seq is higher; the loss is by seq when that is larger', () => {
    const { relay, events, advance, drops } = setup(video);
    relay.write({ seq: 10n, captureNs: 1n, sender: 'a' }, payload(1));
    advance(100);
    relay.write({ seq: 500n, captureNs: 2n, sender: 'b' }, payload(2));
    expect(events).toEqual([{ type: 'epoch', epoch: 2, lost: 500, unit: 'items', by: 'seq', reason: 'new sender' }]);
    expect(drops()).toBe(500);
  });

  it('audio: a start-frame jump is counted in frames; a reset is a new epoch', () => {
    const { sab, relay, events, advance, drops } = setup(audio);
    const chunk = new Uint8Array(20); // 10 frames of s16 mono
    relay.writeAudio({ seq: 0n, captureNs: 0n }, chunk);
    advance(10);
    relay.writeAudio({ seq: 10n, captureNs: 10n * MS }, chunk);
    advance(30);
    relay.writeAudio({ seq: 40n, captureNs: 40n * MS }, chunk);
    expect(drops()).toBe(20);
    advance(500);
    expect(relay.writeAudio({ seq: 0n, captureNs: 99n }, chunk)).toBe(true);
    // 500 ms at 1 kHz = 500 frames, of which this chunk's 10 arrived.
    expect(events.at(-1)).toMatchObject({ type: 'epoch', lost: 490, unit: 'frames', by: 'time' });
    expect(drops()).toBe(510);
    expect(new SampleRingReader(sab).latest()!.captureNs).toBe(99n);
  });

  it('a stop is not a loss: the seq jump after watch(false) → watch(true) is not counted; one after it is', () => {
    const v = setup(video);
    v.relay.watch(true);
    v.relay.write({ seq: 10n, captureNs: 1n }, payload(1));
    v.relay.watch(false); // stopped: the sender goes on, nothing is written
    v.advance(500);
    v.relay.watch(true);
    expect(v.relay.write({ seq: 25n, captureNs: 2n }, payload(2))).toBe(25n);
    expect(v.drops()).toBe(0);
    v.relay.write({ seq: 28n, captureNs: 3n }, payload(3)); // a real loss after the start still counts
    expect(v.drops()).toBe(2);
    v.relay.close();

    const a = setup(audio);
    a.relay.watch(true);
    a.relay.writeAudio({ seq: 0n, captureNs: 1n }, new Uint8Array(20));
    a.relay.watch(false);
    a.relay.watch(true);
    a.relay.writeAudio({ seq: 500n, captureNs: 2n }, new Uint8Array(20));
    expect(a.drops()).toBe(0);
    a.relay.writeAudio({ seq: 530n, captureNs: 3n }, new Uint8Array(20));
    expect(a.drops()).toBe(20);
    a.relay.close();
  });

  it('reports stale after max(1 s, 3 periods) of silence while watched, and live when items resume', () => {
    expect(staleThresholdMs(video)).toBe(1000);
    expect(staleThresholdMs({ ...video, fps: 0.5 })).toBe(6000);
    const { relay, events, advance } = setup(video);
    relay.watch(true);
    relay.write({ seq: 0n, captureNs: 0n }, payload(0));
    advance(999);
    relay.checkStale();
    expect(relay.stale).toBe(false);
    advance(2);
    relay.checkStale();
    expect(relay.stale).toBe(true);
    relay.checkStale(); // reported once
    expect(events).toEqual([{ type: 'stale', silentMs: 1001, thresholdMs: 1000 }]);
    advance(500);
    relay.write({ seq: 1n, captureNs: 0n }, payload(0));
    expect(relay.stale).toBe(false);
    expect(events.at(-1)).toEqual({ type: 'live', silentMs: 1501 });
    relay.watch(false);
    advance(5000);
    relay.checkStale();
    expect(relay.stale).toBe(false);
    relay.close();
  });
});
