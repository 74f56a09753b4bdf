/**
 * One MCAP file written with @mcap/core's McapWriter, chunked and zstd-compressed, with chunks that never
 * stay open longer than `chunkMs`: a killed process leaves every closed chunk readable by a stream
 * reader, so at most the last `chunkMs` (plus one wake-up) of data is lost. A clean `end()` adds the
 * summary and indexes. Writes are synchronous positional writes (see OutFile) from the sink's worker.
 */
import { McapWriter, type IWritable } from '@mcap/core';
import { compress, isLoaded as zstdLoaded } from '@foxglove/wasm-zstd';
import { monotonicNs } from '@senseflow/core';
import { OutFile } from '../file/out-file.js';
import type { ChannelDef } from './schemas.js';

export type McapCompression = 'zstd' | 'none';

export interface McapFileOptions {
  /** Longest a chunk stays open (default 250 ms; at most 1000). */
  chunkMs?: number;
  /** A chunk is also closed past this many uncompressed bytes (default 4 MiB). */
  chunkBytes?: number;
  /** Chunk compression (default zstd). */
  compression?: McapCompression;
  /** zstd level (default 1: capture must keep up; JPEG and PCM barely compress anyway). */
  zstdLevel?: number;
}

export class McapFile {
  private readonly out: OutFile;
  private readonly writer: McapWriter;
  private readonly schemaIds = new Map<string, number>();
  private readonly chunkMs: bigint;
  /** When set, the next message closes the chunk (read by McapWriter through `chunkSize`, see below). */
  private cut = false;
  private chunkOpenedNs: bigint | null = null;
  private chunksSeen = 0;
  bytes = 0;

  private constructor(path: string, o: McapFileOptions) {
    this.out = new OutFile(path);
    const out = this.out;
    const writable: IWritable = {
      write: (buf) => {
        out.append(buf);
        return Promise.resolve();
      },
      position: () => BigInt(out.size),
    };
    this.chunkMs = BigInt(Math.round(Math.min(1000, Math.max(1, o.chunkMs ?? 250)))) * 1_000_000n;
    const chunkBytes = o.chunkBytes ?? 4 << 20;
    const level = o.zstdLevel ?? 1;
    this.writer = new McapWriter({
      writable,
      // McapWriter closes a chunk when its size exceeds `chunkSize`, compared on every message: reading
      // it through valueOf() lets a time limit close the chunk too (the writer has no public flush).
      chunkSize: { valueOf: () => (this.cut ? -1 : chunkBytes) } as unknown as number,
      compressChunk: o.compression === 'none' ? undefined : (data) => ({ compression: 'zstd', compressedData: compress(data, level) }),
    });
  }

  static async create(path: string, o: McapFileOptions = {}): Promise<McapFile> {
    if ((o.compression ?? 'zstd') === 'zstd') await zstdLoaded;
    const f = new McapFile(path, o);
    await f.writer.start({ profile: '', library: 'senseflow' });
    f.bytes = f.out.size;
    return f;
  }

  /** Registers a channel (and its schema, once per name and encoding); returns the channel id. */
  async addChannel(def: ChannelDef): Promise<number> {
    const key = `${def.schemaEncoding}:${def.schemaName}:${def.topic}`;
    let schemaId = this.schemaIds.get(key);
    if (schemaId === undefined) {
      schemaId = await this.writer.registerSchema({ name: def.schemaName, encoding: def.schemaEncoding, data: def.schemaData });
      this.schemaIds.set(key, schemaId);
    }
    return this.writer.registerChannel({ topic: def.topic, schemaId, messageEncoding: def.messageEncoding, metadata: new Map(Object.entries(def.metadata)) });
  }

  /**
   * Adds one message. `lastOfBatch`: nothing more follows for now (the worker goes back to sleep), so a
   * chunk that is old enough is closed with this message instead of waiting for the next one.
   */
  async add(channelId: number, sequence: number, logTime: bigint, publishTime: bigint, data: Uint8Array, lastOfBatch: boolean): Promise<void> {
    const now = monotonicNs();
    this.chunkOpenedNs ??= now;
    this.cut = lastOfBatch && now - this.chunkOpenedNs >= this.chunkMs;
    try {
      await this.writer.addMessage({ channelId, sequence: sequence >>> 0, logTime, publishTime, data });
    } finally {
      this.cut = false;
      const chunks = this.writer.statistics?.chunkCount ?? 0;
      if (chunks !== this.chunksSeen) {
        this.chunksSeen = chunks;
        this.chunkOpenedNs = null;
      }
      this.bytes = this.out.size;
    }
  }

  /** Adds a Metadata record (e.g. the session manifest). */
  async metadata(name: string, values: Record<string, string>): Promise<void> {
    await this.writer.addMetadata({ name, metadata: new Map(Object.entries(values)) });
    this.bytes = this.out.size;
  }

  /** Closes the open chunk and writes the summary and indexes, then closes the file. */
  async end(): Promise<void> {
    try {
      await this.writer.end();
      this.bytes = this.out.size;
    } finally {
      this.out.close();
    }
  }

  /** Closes the file as it is (after a write error): the chunks already written stay readable. */
  abandon(): void {
    this.out.close();
  }
}
