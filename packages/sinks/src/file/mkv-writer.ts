/**
 * A minimal live Matroska writer for one video track. Every frame is stored with its own timestamp
 * (microsecond ticks, from the capture time), so variable frame rate is exact. The Segment and every
 * Cluster have "unknown" sizes, so a file cut off at any byte (a killed process) still opens up to its
 * last complete frame. Payloads are not copied: `frameHead()` returns the bytes to write before them.
 */
import { element, elementHead, openElement } from './ebml.js';

const ID = {
  EBML: 0x1a45dfa3,
  EBMLVersion: 0x4286,
  EBMLReadVersion: 0x42f7,
  EBMLMaxIDLength: 0x42f2,
  EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  Segment: 0x18538067,
  Info: 0x1549a966,
  TimecodeScale: 0x2ad7b1,
  Duration: 0x4489,
  DateUTC: 0x4461,
  Title: 0x7ba9,
  MuxingApp: 0x4d80,
  WritingApp: 0x5741,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackUID: 0x73c5,
  TrackType: 0x83,
  FlagLacing: 0x9c,
  CodecID: 0x86,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  ColourSpace: 0x2eb524,
  Cluster: 0x1f43b675,
  Timecode: 0xe7,
  SimpleBlock: 0xa3,
} as const;

/** Nanoseconds per timestamp tick: 1 µs. */
export const MKV_TIMECODE_SCALE_NS = 1000;
const MAX_CLUSTER_US = 1_000_000; // a cluster spans ≤ 1 s (and ≤ the int16 block offset range)

/** FourCCs ffmpeg's Matroska demuxer maps to raw pixel formats (for `V_UNCOMPRESSED`). */
export const RAW_FOURCC: Record<string, string> = {
  yuyv: 'YUY2',
  uyvy: 'UYVY',
  rgb24: 'RGB\x18',
  bgr24: 'BGR\x18',
  rgba: 'RGBA',
  gray8: 'Y800',
  nv12: 'NV12',
  nv21: 'NV21',
  yu12: 'I420',
};

export interface MkvTrack {
  /** `V_MJPEG` or `V_UNCOMPRESSED`. */
  codecId: 'V_MJPEG' | 'V_UNCOMPRESSED';
  width: number;
  height: number;
  /** V_UNCOMPRESSED: the pixel format name (a key of {@link RAW_FOURCC}). */
  pixelFormat?: string;
  title?: string;
  /** Wall-clock time of timestamp 0 (Matroska DateUTC). */
  origin?: Date;
}

export class MkvWriter {
  private clusterUs = -Infinity;
  /** Byte offset of the Duration float's value inside the header (for rewriting it on close). */
  readonly durationOffset: number;
  private readonly head: Buffer;

  constructor(private readonly track: MkvTrack) {
    const h = this.build(0);
    this.head = h.bytes;
    this.durationOffset = h.durationOffset;
  }

  /** The file header: EBML header, open Segment, Info (with a Duration to fill in later) and Tracks. */
  header(): Buffer {
    return this.head;
  }

  /** The Duration value (8-byte big-endian double, in ticks) to write at {@link durationOffset} when closing. */
  durationBytes(durationUs: number): Buffer {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(Math.max(0, durationUs));
    return b;
  }

  /**
   * The bytes that go before one frame's payload: a new Cluster when needed, then the SimpleBlock head.
   * `ptsUs` must not go backwards (the caller clamps).
   */
  frameHead(ptsUs: number, payloadBytes: number, key: boolean): Buffer {
    const parts: Buffer[] = [];
    if (ptsUs - this.clusterUs >= MAX_CLUSTER_US || ptsUs - this.clusterUs > 32767 || ptsUs < this.clusterUs) {
      this.clusterUs = ptsUs;
      parts.push(openElement(ID.Cluster), element(ID.Timecode, Math.max(0, Math.round(ptsUs))));
    }
    const block = Buffer.alloc(4);
    block[0] = 0x81; // track number 1 as a vint
    block.writeInt16BE(Math.round(ptsUs - this.clusterUs), 1);
    block[3] = key ? 0x80 : 0x00;
    parts.push(elementHead(ID.SimpleBlock, 4 + payloadBytes), block);
    return Buffer.concat(parts);
  }

  private build(durationUs: number): { bytes: Buffer; durationOffset: number } {
    const t = this.track;
    const ebml = element(ID.EBML, [
      [ID.EBMLVersion, 1],
      [ID.EBMLReadVersion, 1],
      [ID.EBMLMaxIDLength, 4],
      [ID.EBMLMaxSizeLength, 8],
      [ID.DocType, 'matroska'],
      [ID.DocTypeVersion, 4],
      [ID.DocTypeReadVersion, 2],
    ]);
    const segment = openElement(ID.Segment);
    const video: [number, number | Buffer][] = [
      [ID.PixelWidth, t.width],
      [ID.PixelHeight, t.height],
    ];
    if (t.codecId === 'V_UNCOMPRESSED') {
      const cc = RAW_FOURCC[t.pixelFormat ?? ''];
      if (!cc) throw new RangeError(`no Matroska FourCC for pixel format '${t.pixelFormat}'`);
      video.push([ID.ColourSpace, Buffer.from(cc, 'latin1')]);
    }
    // Duration first in Info so its offset is easy to find: [Info id+size][Duration id(2) size(1)][8 bytes].
    const infoChildren: [number, number | string | Buffer | { float: number }][] = [
      [ID.Duration, { float: durationUs }],
      [ID.TimecodeScale, MKV_TIMECODE_SCALE_NS],
      [ID.MuxingApp, 'senseflow'],
      [ID.WritingApp, 'senseflow'],
    ];
    if (t.title) infoChildren.push([ID.Title, t.title]);
    if (t.origin) {
      // DateUTC: signed ns since 2001-01-01T00:00:00Z.
      const ns = BigInt(t.origin.getTime() - Date.UTC(2001, 0, 1)) * 1_000_000n;
      const b = Buffer.alloc(8);
      b.writeBigInt64BE(ns);
      infoChildren.push([ID.DateUTC, b]);
    }
    const info = element(ID.Info, infoChildren);
    const tracks = element(ID.Tracks, [
      [
        ID.TrackEntry,
        [
          [ID.TrackNumber, 1],
          [ID.TrackUID, 1],
          [ID.TrackType, 1],
          [ID.FlagLacing, 0],
          [ID.CodecID, t.codecId],
          [ID.Video, video],
        ],
      ],
    ]);
    // Info = 4-byte ID + size vint, then Duration = 2-byte ID + 1-byte size + the 8-byte value.
    const durationOffset = ebml.length + segment.length + 4 + sizeLen(info, 4) + 3;
    return { bytes: Buffer.concat([ebml, segment, info, tracks]), durationOffset };
  }
}

/** Length of the vint that starts at `at`. */
function sizeLen(buf: Buffer, at: number): number {
  const b = buf[at];
  for (let i = 0; i < 8; i++) if (b & (0x80 >> i)) return i + 1;
  return 8;
}
