/**
 * Reading MCAP files with @mcap/core: the indexed reader when the file has its summary (a clean finish,
 * or any other writer's finished file), else the stream reader from the start of the file up to the last
 * complete record (a recording whose process was killed).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { McapIndexedReader, McapStreamReader, type DecompressHandlers, type McapTypes } from '@mcap/core';
import { FileHandleReadable } from '@mcap/nodejs';
import { loadDecompressHandlers } from '@mcap/support';
import { IOError } from '@senseflow/core';

export interface McapChannelInfo {
  id: number;
  topic: string;
  messageEncoding: string;
  metadata: Map<string, string>;
  schema: { name: string; encoding: string; data: Uint8Array } | null;
}

export type McapMessage = McapTypes.TypedMcapRecords['Message'];

export interface McapFileInfo {
  channels: McapChannelInfo[];
  /** Whether the file has its summary and index (written by a clean finish). */
  indexed: boolean;
  /** Messages per channel id, and the first and last log time of the file. */
  counts: Map<number, bigint>;
  startTime: bigint | null;
  endTime: bigint | null;
  metadata: { name: string; metadata: Map<string, string> }[];
}

const READ_BYTES = 1 << 20;

async function openFile(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (e) {
    throw new IOError(`cannot open ${path}: ${(e as Error).message}`, { path, errno: (e as NodeJS.ErrnoException).code }, { cause: e });
  }
}

async function indexedReader(fh: FileHandle, handlers: DecompressHandlers): Promise<McapIndexedReader | null> {
  try {
    const r = await McapIndexedReader.Initialize({ readable: new FileHandleReadable(fh), decompressHandlers: handlers });
    return r.chunkIndexes.length > 0 || (r.statistics?.messageCount ?? 0n) === 0n ? r : null;
  } catch {
    return null; // no footer or summary: read it as a stream
  }
}

/** Every record of the file in order, with the stream reader; stops quietly at a truncated end. */
async function* streamRecords(path: string, handlers: DecompressHandlers): AsyncGenerator<McapTypes.TypedMcapRecord> {
  const fh = await openFile(path);
  try {
    const reader = new McapStreamReader({ decompressHandlers: handlers, validateCrcs: true });
    const buf = Buffer.alloc(READ_BYTES);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, READ_BYTES, null);
      if (bytesRead === 0) return;
      reader.append(buf.subarray(0, bytesRead));
      for (let rec; (rec = reader.nextRecord()); ) yield rec;
    }
  } finally {
    await fh.close();
  }
}

const channelOf = (c: McapTypes.TypedMcapRecords['Channel'], schemas: ReadonlyMap<number, McapTypes.TypedMcapRecords['Schema']>): McapChannelInfo => {
  const s = schemas.get(c.schemaId);
  return { id: c.id, topic: c.topic, messageEncoding: c.messageEncoding, metadata: c.metadata, schema: s ? { name: s.name, encoding: s.encoding, data: s.data } : null };
};

/** Channels, counts and metadata of a file (a killed recording is scanned to its last complete chunk). */
export async function readMcapInfo(path: string): Promise<McapFileInfo> {
  const handlers = await loadDecompressHandlers();
  const fh = await openFile(path);
  try {
    const r = await indexedReader(fh, handlers);
    if (r) {
      const metadata: McapFileInfo['metadata'] = [];
      for await (const m of r.readMetadata()) metadata.push({ name: m.name, metadata: m.metadata });
      return {
        channels: [...r.channelsById.values()].map((c) => channelOf(c, r.schemasById)),
        indexed: true,
        counts: new Map(r.statistics?.channelMessageCounts ?? []),
        startTime: r.statistics?.messageStartTime ?? null,
        endTime: r.statistics?.messageEndTime ?? null,
        metadata,
      };
    }
  } finally {
    await fh.close();
  }
  const schemas = new Map<number, McapTypes.TypedMcapRecords['Schema']>();
  const channels = new Map<number, McapChannelInfo>();
  const info: McapFileInfo = { channels: [], indexed: false, counts: new Map(), startTime: null, endTime: null, metadata: [] };
  for await (const rec of streamRecords(path, handlers)) {
    if (rec.type === 'Schema') schemas.set(rec.id, rec);
    else if (rec.type === 'Channel' && !channels.has(rec.id)) channels.set(rec.id, channelOf(rec, schemas));
    else if (rec.type === 'Metadata') info.metadata.push({ name: rec.name, metadata: rec.metadata });
    else if (rec.type === 'Message') {
      info.counts.set(rec.channelId, (info.counts.get(rec.channelId) ?? 0n) + 1n);
      if (info.startTime === null || rec.logTime < info.startTime) info.startTime = rec.logTime;
      if (info.endTime === null || rec.logTime > info.endTime) info.endTime = rec.logTime;
    }
  }
  info.channels = [...channels.values()];
  return info;
}

/**
 * The messages of some topics (all when omitted): in log-time order from an indexed file, in file order
 * (per channel: write order) from an unindexed one.
 */
export async function* readMcapMessages(path: string, topics?: string[]): AsyncGenerator<McapMessage> {
  const handlers = await loadDecompressHandlers();
  const fh = await openFile(path);
  try {
    const r = await indexedReader(fh, handlers);
    if (r) {
      yield* r.readMessages(topics ? { topics } : {});
      return;
    }
  } finally {
    await fh.close().catch(() => {});
  }
  const wanted = new Set<number>();
  for await (const rec of streamRecords(path, handlers)) {
    if (rec.type === 'Channel' && (!topics || topics.includes(rec.topic))) wanted.add(rec.id);
    else if (rec.type === 'Message' && wanted.has(rec.channelId)) yield rec;
  }
}
