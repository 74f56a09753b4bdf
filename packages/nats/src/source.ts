/**
 * `nats` source plugin: a stream published by `publish()` on another process or machine, opened as a local
 * source. Runs in its own worker. The NATS callback never blocks: it writes each message into the ring
 * (which is the bounded, latest-wins queue for every reader), so a slow reader never stalls the connection.
 * Writing goes through core's RelayWriter: a publisher restart (new `sf-sender`, or seq going back) is a
 * new epoch delivered at once with its gap counted; gaps inside a life are counted by seq (audio: frames);
 * a silent stream is reported `stale`.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { DeliverPolicy, ReplayPolicy, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import {
  DeviceNotFoundError,
  ItemFlags,
  RelayWriter,
  type RelayItem,
  nonEmptyString,
  numberIn,
  defineSource,
  formatCode,
  intIn,
  oneOf,
  optionsObject,
  withDefault,
  type SourceContext,
  type StreamSpec,
  type WritableSlot,
} from '@senseflow/core';
import { ClockSync } from './clock-sync.js';
import { connectNats, parseConnectionOptions, type NatsConnectionOptions } from './connection.js';
import { findDiscoveryBucket } from './bucket.js';
import type { StreamEntry } from './publish.js';
import { H, clockSubject, controlSubject, kvKey, parseDataSubject, specSubject, type StreamAddress } from './subjects.js';
import { Reassembler, decodeChunk, decodeFormat } from './wire.js';

export interface RemoteOptions extends NatsConnectionOptions {
  /** The data subject, `sf.<host>.<node>.<stream>` (see `listRemoteStreams()`). */
  subject: string;
  /**
   * Capture times as the publisher stamped them (`remote`, default: streams from one machine align exactly),
   * or converted to this machine's clock with the measured offset (`local`: to align with local sources).
   */
  clock: 'remote' | 'local';
  /** Ring slots for video/records (default 8 / 1024). */
  slots?: number;
  /** Audio ring length in seconds (default 10). */
  bufferSecs: number;
  /** Clock probe interval (default 2000 ms). */
  clockProbeMs: number;
  /**
   * Replay a recording kept in JetStream (`publish(…, { jetstream })`) instead of the live stream: from
   * `fromMs` (wall-clock ms; default: the beginning), at the original pace or as fast as possible.
   */
  replay?: { jetstream: string; fromMs?: number; pace: 'original' | 'fast' };
}

export function parseRemoteOptions(raw: unknown): RemoteOptions {
  const o = optionsObject(raw, ['servers', 'token', 'user', 'pass', 'connectTimeoutMs', 'subject', 'clock', 'slots', 'bufferSecs', 'clockProbeMs', 'replay']);
  parseDataSubject(String(o.subject ?? ''));
  let replay: RemoteOptions['replay'];
  if (o.replay !== undefined) {
    const r = optionsObject(o.replay, ['jetstream', 'fromMs', 'pace'], 'replay');
    replay = {
      jetstream: nonEmptyString('replay.jetstream', r.jetstream),
      fromMs: r.fromMs === undefined ? undefined : numberIn('replay.fromMs', r.fromMs, 0, 8.64e15),
      pace: withDefault(r.pace, 'original', (v) => oneOf('replay.pace', v, ['original', 'fast'] as const)),
    };
  }
  return {
    replay,
    ...parseConnectionOptions(o),
    subject: String(o.subject),
    clock: withDefault(o.clock, 'remote', (v) => oneOf('clock', v, ['remote', 'local'] as const)),
    slots: o.slots === undefined ? undefined : intIn('slots', o.slots, 2, 65536),
    bufferSecs: withDefault(o.bufferSecs, 10, (v) => intIn('bufferSecs', v, 1, 600)),
    clockProbeMs: withDefault(o.clockProbeMs, 2000, (v) => intIn('clockProbeMs', v, 100, 60_000)),
  };
}

// describe() connects and reads the stream's entry; open() reuses that connection (same worker).
let conn: NatsConnection | null = null;

async function lookup(o: RemoteOptions): Promise<StreamEntry> {
  conn ??= await connectNats(o, `senseflow-remote ${o.subject}`);
  if (o.replay) {
    // A recording: its entry was kept in the JetStream stream beside the data.
    const jsm = await jetstreamManager(conn);
    const m = await jsm.streams.getMessage(o.replay.jetstream, { last_by_subj: specSubject(parseDataSubject(o.subject)) }).catch((e: Error) => {
      throw new DeviceNotFoundError(`no recording of ${o.subject} in JetStream stream '${o.replay!.jetstream}': ${e.message}`, { subject: o.subject });
    });
    if (!m) throw new DeviceNotFoundError(`no recording of ${o.subject} in JetStream stream '${o.replay.jetstream}'`, { subject: o.subject });
    return m.json<StreamEntry>();
  }
  const kv = await findDiscoveryBucket(conn);
  const addr = parseDataSubject(o.subject);
  const e = kv ? await kv.get(kvKey(addr)) : null;
  if (!e || e.operation !== 'PUT' || e.length === 0) {
    const known: string[] = [];
    if (kv) for await (const k of await kv.keys()) known.push(`sf.${k}`);
    throw new DeviceNotFoundError(`no stream is published at ${o.subject}${known.length ? ` (live: ${known.join(', ')})` : ' (none is live)'}`, { subject: o.subject, live: known });
  }
  return JSON.parse(e.string()) as StreamEntry;
}

function localSpec(entry: StreamEntry, o: RemoteOptions): StreamSpec {
  const remote = entry.spec;
  const notes = [`remote stream ${entry.subject} from ${entry.clock}`, `capture times on the ${o.clock === 'remote' ? "publisher's clock" : 'local clock (offset-corrected)'}`];
  const description = `[nats] ${entry.subject} — ${remote.description ?? remote.kind}`;
  if (remote.kind === 'audio')
    return { ...remote, ring: { capacityFrames: Math.max(remote.periodFrames * 8, o.bufferSecs * remote.rate) }, description, notes, deviceId: entry.subject };
  if (remote.kind === 'video') return { ...remote, ring: { slots: o.slots ?? 8, slotBytes: remote.ring.slotBytes }, description, notes, deviceId: entry.subject };
  return { ...remote, ring: { slots: o.slots ?? 1024 }, description, notes, deviceId: entry.subject };
}

export default defineSource<RemoteOptions>({
  name: 'nats',
  options: parseRemoteOptions,
  async describe(o) {
    return localSpec(await lookup(o), o);
  },
  async open(c: SourceContext, o, spec) {
    const nc = conn ?? (conn = await connectNats(o, `senseflow-remote ${o.subject}`));
    const addr: StreamAddress = parseDataSubject(o.subject);
    const sync = new ClockSync();
    const toLocal = (remoteNs: bigint) => (o.clock === 'local' ? sync.toLocal(remoteNs) : remoteNs);
    let sub: Subscription | null = null;
    let replaying: ConsumerMessages | null = null;
    let probe: NodeJS.Timeout | null = null;

    async function probeClock(): Promise<void> {
      const t0 = c.clock.now();
      const reply = await nc.request(clockSubject(addr), undefined, { timeout: 1000 });
      const t2 = c.clock.now();
      const est = sync.add(t0, BigInt(new TextDecoder().decode(reply.data)), t2);
      c.emit('clock', { offsetNs: est.offsetNs.toString(), uncertaintyNs: est.uncertaintyNs.toString(), samples: est.samples });
    }

    const relay = new RelayWriter(spec.kind === 'audio' ? c.samples! : c.frames!, { spec, onEvent: (e) => c.emit(e.type, e) });
    // Connection status → disconnect / reconnect events (the stream shows the gap when data resumes).
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') {
          relay.disconnected();
          c.disconnected(`NATS connection lost (${String((s as { server?: string }).server ?? o.servers)})`);
        }
        if (s.type === 'reconnect') c.reconnected({ server: (s as { server?: string }).server });
      }
    })().catch(() => {});

    const onMessage = spec.kind === 'audio' ? audioWriter(relay, c.clock.now, toLocal) : frameWriter(relay, spec, c.clock.now, toLocal);

    return {
      async start() {
        relay.watch(true);
        if (o.replay) {
          const consumer = await jetstream(nc).consumers.get(o.replay.jetstream, {
            filter_subjects: o.subject, // one subject: nats-server 2.9 (Debian 12) accepts only a single filter
            deliver_policy: o.replay.fromMs === undefined ? DeliverPolicy.All : DeliverPolicy.StartTime,
            ...(o.replay.fromMs === undefined ? {} : { opt_start_time: new Date(o.replay.fromMs).toISOString() }),
            replay_policy: o.replay.pace === 'original' ? ReplayPolicy.Original : ReplayPolicy.Instant,
          });
          const msgs = await consumer.consume();
          replaying = msgs;
          void (async () => {
            for await (const m of msgs) onMessage(m as unknown as Msg);
          })().catch((e) => c.error(e));
          return; // a recording has no live publisher to probe: its times are the publisher's clock
        }
        sub = nc.subscribe(o.subject, { callback: (err, m) => (err ? c.error(err) : onMessage(m)) });
        await probeClock().catch((e) => c.log.warn({ err: e }, 'clock probe failed'));
        probe = setInterval(() => void probeClock().catch((e) => c.log.debug({ err: e }, 'clock probe failed')), o.clockProbeMs);
      },
      stop() {
        relay.watch(false);
        sub?.unsubscribe();
        sub = null;
        void replaying?.close();
        replaying = null;
        if (probe) clearInterval(probe);
      },
      async close() {
        relay.close();
        if (probe) clearInterval(probe);
        await nc.drain().catch(() => {});
        conn = null;
      },
      async getControl(name) {
        return Number(await control(nc, addr, { op: 'getControl', name }));
      },
      async setControl(name, value) {
        await control(nc, addr, { op: 'setControl', name, value });
      },
      async listControls() {
        return (await control(nc, addr, { op: 'listControls' })) as never;
      },
    };
  },
});

async function control(nc: NatsConnection, addr: StreamAddress, req: Record<string, unknown>): Promise<unknown> {
  const m = await nc.request(controlSubject(addr), JSON.stringify(req), { timeout: 5000 });
  const r = JSON.parse(new TextDecoder().decode(m.data)) as { ok: boolean; value?: unknown; error?: { message: string } };
  if (!r.ok) throw new Error(r.error?.message ?? 'remote control failed');
  return r.value;
}

/** One message's item metadata (the relay's view) plus its format fields. */
interface Meta extends RelayItem {
  format: Record<string, string>;
}

function readMeta(m: Msg, now: () => bigint, toLocal: (ns: bigint) => bigint | null): Meta {
  const h = m.headers!;
  const cap = toLocal(BigInt(h.get(H.captureNs) || '0'));
  const sender = h.get(H.sender) || undefined;
  return {
    seq: BigInt(h.get(H.seq) || '0'),
    captureNs: cap ?? now(),
    receiveNs: now(),
    flags: Number(h.get(H.flags) || 0) | (cap === null ? ItemFlags.TIMESTAMP_FALLBACK : 0),
    format: decodeFormat(h.get(H.format)),
    sender,
  };
}

/** Video and records: each message (or set of chunks) becomes one ring item, in place. */
function frameWriter(relay: RelayWriter, spec: StreamSpec, now: () => bigint, toLocal: (ns: bigint) => bigint | null) {
  const frames = relay.frames!;
  const asm = new Reassembler();
  let slot: WritableSlot | null = null;
  const abandon = () => {
    if (slot) {
      relay.abort(slot);
      slot = null;
      frames.reportDrop('network', 1); // a partial frame lost to a newer one or to a gap
    }
  };
  const fill = (s: WritableSlot, meta: Meta) => {
    if (spec.kind !== 'video') return;
    s.width = Number(meta.format.w);
    s.height = Number(meta.format.h);
    s.stride = Number(meta.format.s);
    s.format = formatCode(meta.format.f ?? spec.pixelFormat);
  };
  return (m: Msg) => {
    const meta = readMeta(m, now, toLocal);
    const chunk = decodeChunk(m.headers!.get(H.chunk));
    if (!chunk) {
      abandon();
      const s = relay.begin(meta);
      if (!s) return;
      if (m.data.byteLength > s.data.byteLength) {
        relay.abort(s);
        return frames.reportDrop('network', 1);
      }
      s.data.set(m.data);
      fill(s, meta);
      relay.commit(s, m.data.byteLength, meta);
      return;
    }
    const verdict = asm.accept(meta.seq, chunk);
    if (verdict === 'broken') return abandon();
    if (verdict === 'start' || (verdict === 'complete' && chunk.count === 1)) {
      abandon();
      slot = relay.begin(meta);
      if (slot && chunk.total > slot.data.byteLength) {
        relay.abort(slot);
        slot = null;
        frames.reportDrop('network', 1);
      }
    }
    if (!slot) return;
    slot.data.set(m.data, asm.offset);
    asm.addBytes(m.data.byteLength);
    if (verdict === 'complete') {
      const s = slot;
      slot = null;
      fill(s, meta);
      relay.commit(s, asm.offset, meta);
    }
  };
}

/** Audio: chunks are appended in order; the relay counts a jump in the publisher's frame index. */
function audioWriter(relay: RelayWriter, now: () => bigint, toLocal: (ns: bigint) => bigint | null) {
  return (m: Msg) => {
    const meta = readMeta(m, now, toLocal);
    relay.writeAudio({ ...meta, seq: BigInt(meta.format.sf ?? '0') }, m.data);
  };
}
