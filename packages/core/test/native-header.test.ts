// core's C++ headers for native writers (native/sample-ring.h, native/control.h) restate the ring layout and
// the worker mailbox. Every constant they name must equal the TypeScript one: a drift would have an addon
// write chunk records where no reader looks.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES, ChunkI32, ChunkI64, HEADER_BYTES, I32, I64, ItemFlags, RING_MAGIC, RING_VERSION, RingKind } from '../src/ring/layout.js';
import { Mailbox } from '../src/worker/protocol.js';

function constants(file: string): Map<string, number> {
  const text = readFileSync(new URL(`../native/${file}`, import.meta.url), 'utf8');
  const out = new Map<string, number>();
  for (const m of text.matchAll(/constexpr\s+\w+\s+(k\w+)\s*=\s*(0x[0-9a-fA-F]+|-?\d+)\s*;/g)) out.set(m[1], Number(m[2]));
  return out;
}

describe('native headers match the TypeScript protocol', () => {
  it('sample-ring.h: magic, version, header words, chunk record fields and flags', () => {
    const c = constants('sample-ring.h');
    const expected: Record<string, number> = {
      kMagic: RING_MAGIC,
      kVersion: RING_VERSION,
      kHeaderBytes: HEADER_BYTES,
      kKindSample: RingKind.sample,
      kI32Magic: I32.MAGIC,
      kI32Version: I32.VERSION,
      kI32Kind: I32.KIND,
      kI32Count: I32.COUNT,
      kI32UnitBytes: I32.UNIT_BYTES,
      kI32CapacityFrames: I32.CAPACITY_FRAMES,
      kI32Waiters: I32.WAITERS,
      kI64WriteSeq: I64.WRITE_SEQ,
      kI64FramesWritten: I64.FRAMES_WRITTEN,
      kI64FramesReserved: I64.FRAMES_RESERVED,
      kChunkBytes: CHUNK_BYTES,
      kChunkSeq: ChunkI64.SEQ,
      kChunkStartFrame: ChunkI64.START_FRAME,
      kChunkCaptureNs: ChunkI64.CAPTURE_NS,
      kChunkReceiveNs: ChunkI64.RECEIVE_NS,
      kChunkFrames: ChunkI32.FRAMES,
      kChunkFlags: ChunkI32.FLAGS,
      kFlagDiscontinuity: ItemFlags.DISCONTINUITY,
      kFlagTimestampFallback: ItemFlags.TIMESTAMP_FALLBACK,
    };
    // Every constant the header has is checked, and every one checked is there.
    expect(Object.fromEntries(c)).toEqual(expected);
  });

  it('control.h: the mailbox words', () => {
    expect(Object.fromEntries(constants('control.h'))).toEqual({ kMailboxPosted: Mailbox.POSTED, kMailboxTaken: Mailbox.TAKEN });
  });
});
