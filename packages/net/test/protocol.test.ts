import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeMessage, FrameParser, jsonMessage, MsgType, NET_HEADER_BYTES, ProtocolError, readHeader, writeHeader } from '@senseflow/net';

const MAX = 4096;

function message(type: number, payload: Uint8Array, fields: Partial<Record<'stream' | 'flags' | 'f0' | 'f1' | 'f2' | 'f3', number>> & { seq?: bigint; captureNs?: bigint; aux?: bigint } = {}): Buffer {
  const buf = Buffer.alloc(NET_HEADER_BYTES + payload.length);
  writeHeader(buf, { type: type as 3, payloadBytes: payload.length, ...fields });
  buf.set(payload, NET_HEADER_BYTES);
  return buf;
}

describe('net protocol framing', () => {
  it('round-trips every header field (server encoder, server decoder, browser decoder)', () => {
    fc.assert(
      fc.property(
        fc.record({
          type: fc.integer({ min: 1, max: 9 }),
          stream: fc.integer({ min: 0, max: 65535 }),
          flags: fc.nat(),
          seq: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
          captureNs: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
          aux: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
          f0: fc.nat(),
          f1: fc.nat(),
          f2: fc.nat(),
          f3: fc.nat(),
        }),
        fc.uint8Array({ maxLength: 64 }),
        (h, payload) => {
          const buf = message(h.type, payload, h);
          const m = decodeMessage(buf, MAX);
          expect({ ...m, payload: undefined, payloadBytes: undefined }).toEqual({ ...h, payload: undefined, payloadBytes: undefined });
          expect([...m.payload]).toEqual([...payload]);
          const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer;
          const b = decodeMessage(ab, MAX); // how the dashboard decodes a WebSocket message (an ArrayBuffer)
          expect([b.type, b.stream, b.flags, b.seq, b.captureNs, b.aux, b.f0, b.f1, b.f2, b.f3]).toEqual([h.type, h.stream, h.flags, h.seq, h.captureNs, h.aux, h.f0, h.f1, h.f2, h.f3]);
        },
      ),
    );
  });

  it('reassembles messages split at any byte boundary', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1 }), (payloads, cuts) => {
        const stream = Buffer.concat(payloads.map((p, i) => message(MsgType.VIDEO, p, { seq: BigInt(i) })));
        const p = new FrameParser(MAX);
        const got: { seq: bigint; bytes: number[] }[] = [];
        for (let off = 0, k = 0; off < stream.length; k++) {
          const n = cuts[k % cuts.length];
          for (const m of p.push(stream.subarray(off, off + n))) got.push({ seq: m.seq, bytes: [...m.payload] });
          off += n;
        }
        expect(got).toEqual(payloads.map((pl, i) => ({ seq: BigInt(i), bytes: [...pl] })));
        expect(p.pendingBytes).toBe(0);
      }),
    );
  });

  it('rejects an oversize message from its header, before buffering the payload', () => {
    const p = new FrameParser(MAX);
    const h = Buffer.alloc(NET_HEADER_BYTES);
    writeHeader(h, { type: MsgType.VIDEO, payloadBytes: 2 ** 32 - 1 });
    expect(() => p.push(h)).toThrow(ProtocolError);
    expect(() => readHeader(h, MAX)).toThrow(/exceeds the limit/);
  });

  it('fuzz: arbitrary bytes in arbitrary chunks never crash, hang or grow memory past one message', () => {
    const valid = message(MsgType.PING, new Uint8Array(0));
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.constant(new Uint8Array(valid)), fc.uint8Array({ minLength: 56, maxLength: 56 }).map((b) => (b.set(valid.subarray(0, 6)), b))), { maxLength: 20 }),
        (chunks) => {
          const p = new FrameParser(MAX);
          try {
            for (const c of chunks) {
              p.push(Buffer.from(c));
              expect(p.pendingBytes).toBeLessThanOrEqual(NET_HEADER_BYTES + MAX + 200);
            }
          } catch (e) {
            expect(e).toBeInstanceOf(ProtocolError);
          }
        },
      ),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeMessage(Buffer.from(bytes), MAX);
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('JSON control messages carry bigints as strings', () => {
    const m = decodeMessage(jsonMessage(MsgType.STATS, { n: 5n, s: 'x' }), MAX);
    expect(JSON.parse(Buffer.from(m.payload).toString())).toEqual({ n: '5', s: 'x' });
  });
});
