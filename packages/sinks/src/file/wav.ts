/**
 * WAV headers, laid out so a live writer can keep them valid: a fixed-size header with a 28-byte `JUNK`
 * chunk reserved right after `WAVE`, which becomes the `ds64` chunk when the data outgrows 4 GiB (the RF64
 * upgrade is then an in-place rewrite of the same bytes, EBU Tech 3306).
 */
import type { SampleFormat } from '@senseflow/core';

export interface WavFormat {
  rate: number;
  channels: number;
  format: SampleFormat;
}

const RIFF_LIMIT = 0xffffffff;
const KSDATAFORMAT_PCM = Buffer.from('0100000000001000800000aa00389b71', 'hex');
const KSDATAFORMAT_FLOAT = Buffer.from('0300000000001000800000aa00389b71', 'hex');

const bits = (f: SampleFormat) => (f === 's16le' ? 16 : 32);
/** Plain PCM / float `fmt ` for mono and stereo 16-bit; WAVE_FORMAT_EXTENSIBLE otherwise (as the spec asks). */
const extensible = (w: WavFormat) => w.channels > 2 || bits(w.format) > 16;
const fmtBytes = (w: WavFormat) => (extensible(w) ? 40 : w.format === 'f32le' ? 18 : 16);

/** Bytes before the sample data. */
export function wavHeaderBytes(w: WavFormat): number {
  return 12 + (8 + 28) + (8 + fmtBytes(w)) + 8;
}

/**
 * The whole header for `dataBytes` of samples. Under 4 GiB it is plain RIFF (with the JUNK reserve);
 * past that it is RF64 with a ds64 chunk carrying the 64-bit sizes. Same length either way.
 */
export function wavHeader(w: WavFormat, dataBytes: number): Buffer {
  const hb = wavHeaderBytes(w);
  const h = Buffer.alloc(hb);
  const riffSize = hb - 8 + dataBytes;
  const rf64 = riffSize > RIFF_LIMIT || dataBytes > RIFF_LIMIT;
  const blockAlign = w.channels * (bits(w.format) / 8);
  let o = 0;
  h.write(rf64 ? 'RF64' : 'RIFF', o, 'latin1');
  h.writeUInt32LE(rf64 ? RIFF_LIMIT : riffSize, o + 4);
  h.write('WAVE', o + 8, 'latin1');
  o = 12;
  if (rf64) {
    h.write('ds64', o, 'latin1');
    h.writeUInt32LE(28, o + 4);
    h.writeBigUInt64LE(BigInt(riffSize), o + 8);
    h.writeBigUInt64LE(BigInt(dataBytes), o + 16);
    h.writeBigUInt64LE(BigInt(Math.floor(dataBytes / blockAlign)), o + 24);
    h.writeUInt32LE(0, o + 32); // no table entries
  } else {
    h.write('JUNK', o, 'latin1');
    h.writeUInt32LE(28, o + 4);
  }
  o += 36;
  const fb = fmtBytes(w);
  h.write('fmt ', o, 'latin1');
  h.writeUInt32LE(fb, o + 4);
  const tag = extensible(w) ? 0xfffe : w.format === 'f32le' ? 3 : 1;
  h.writeUInt16LE(tag, o + 8);
  h.writeUInt16LE(w.channels, o + 10);
  h.writeUInt32LE(w.rate, o + 12);
  h.writeUInt32LE(w.rate * blockAlign, o + 16);
  h.writeUInt16LE(blockAlign, o + 20);
  h.writeUInt16LE(bits(w.format), o + 22);
  if (fb >= 18) h.writeUInt16LE(fb - 18, o + 24); // cbSize
  if (fb === 40) {
    h.writeUInt16LE(bits(w.format), o + 26); // valid bits
    h.writeUInt32LE(w.channels <= 2 ? (w.channels === 1 ? 0x4 : 0x3) : 0, o + 28); // channel mask (0: unassigned)
    (w.format === 'f32le' ? KSDATAFORMAT_FLOAT : KSDATAFORMAT_PCM).copy(h, o + 32);
  }
  o += 8 + fb;
  h.write('data', o, 'latin1');
  h.writeUInt32LE(rf64 ? RIFF_LIMIT : dataBytes, o + 4);
  return h;
}

/** Parsed essentials of a WAV/RF64 file header (for trimming and tests). */
export interface WavInfo extends WavFormat {
  dataOffset: number;
  dataBytes: number;
}

/** Reads the header of a WAV or RF64 file written by senseflow (or any PCM/float WAV). */
export function parseWavHeader(buf: Buffer): WavInfo {
  const magic = buf.toString('latin1', 0, 4);
  if ((magic !== 'RIFF' && magic !== 'RF64') || buf.toString('latin1', 8, 12) !== 'WAVE') throw new RangeError('not a WAV file');
  let o = 12;
  let ds64Data: number | null = null;
  let fmt: { tag: number; channels: number; rate: number; bits: number; sub?: number } | null = null;
  while (o + 8 <= buf.length) {
    const id = buf.toString('latin1', o, o + 4);
    const size = buf.readUInt32LE(o + 4);
    if (id === 'ds64') ds64Data = Number(buf.readBigUInt64LE(o + 16));
    else if (id === 'fmt ') {
      const tag = buf.readUInt16LE(o + 8);
      fmt = { tag, channels: buf.readUInt16LE(o + 10), rate: buf.readUInt32LE(o + 12), bits: buf.readUInt16LE(o + 22) };
      if (tag === 0xfffe) fmt.sub = buf.readUInt16LE(o + 32);
    } else if (id === 'data') {
      if (!fmt) throw new RangeError('WAV data before fmt');
      const tag = fmt.tag === 0xfffe ? fmt.sub : fmt.tag;
      const format: SampleFormat = tag === 3 ? 'f32le' : fmt.bits === 16 ? 's16le' : 's32le';
      return { rate: fmt.rate, channels: fmt.channels, format, dataOffset: o + 8, dataBytes: size === RIFF_LIMIT && ds64Data !== null ? ds64Data : size };
    }
    o += 8 + size + (size & 1);
  }
  throw new RangeError('WAV data chunk not found in header bytes');
}
