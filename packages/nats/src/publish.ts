import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { InvalidStateError, monotonicNs, optionsObject, resolveLogger, type HostOptions, type Source, type SourceItem } from '@senseflow/core';
import { connectNats, parseConnectionOptions, type NatsConnectionOptions } from './connection.js';
import { openDiscoveryBucket } from './bucket.js';
import { clockIdentity, clockSubject, controlSubject, dataSubject, defaultHost, kvKey, specSubject, subjectToken, type StreamAddress } from './subjects.js';

export interface PublishOptions extends NatsConnectionOptions {
  /** Subject tokens: `sf.<host>.<node>.<stream>`. Defaults: this host's name, `node`, the source's name. */
  host?: string;
  node?: string;
  stream?: string;
  /** Also keep the stream in JetStream (for recording and replay): the JetStream stream name. */
  jetstream?: string;
  /** How long JetStream keeps messages (default 1 h). */
  jetstreamMaxAgeSec?: number;
}

/** What discovery stores in the KV bucket for each live stream. */
export interface StreamEntry extends StreamAddress {
  subject: string;
  spec: Source['spec'];
  clock: string;
  startedAtMs: number;
  heartbeatAtMs: number;
  jetstream?: string;
}

export interface PublisherStats {
  messages: number;
  bytes: number;
  items: number;
  chunkedItems: number;
  /** Items (audio: frames) the publisher's reader was lapped on before it could send them: lost here, not in transit. */
  lost: number;
}

export interface Publisher {
  readonly subject: string;
  readonly address: StreamAddress;
  stats(): PublisherStats;
  /** Resolves once the publishing worker has ended: after close(), or by itself when the source closed. */
  readonly ended: Promise<void>;
  close(): Promise<void>;
}

const HEARTBEAT_MS = 5000;

/**
 * Publishes a source onto NATS: items from its ring (read in a worker, not on this thread), discovery in the
 * `senseflow_streams` KV bucket, a clock probe for offset estimation, and request/reply control.
 *
 * @example
 * ```ts
 * const cam = await openTestPattern({ width: 640, height: 480 });
 * const pub = await publish(cam, { servers: 'nats://127.0.0.1:4222', node: 'robot1', stream: 'front' });
 * // elsewhere: openRemote({ servers, subject: 'sf.<host>.robot1.front' })
 * ```
 */
export async function publish(source: Source<SourceItem>, options: PublishOptions = {}, host: HostOptions = {}): Promise<Publisher> {
  const raw = optionsObject(options, ['servers', 'token', 'user', 'pass', 'connectTimeoutMs', 'host', 'node', 'stream', 'jetstream', 'jetstreamMaxAgeSec']);
  const conn = parseConnectionOptions(raw);
  const address: StreamAddress = {
    host: subjectToken('host', (raw.host as string | undefined) ?? defaultHost()),
    node: subjectToken('node', (raw.node as string | undefined) ?? 'node'),
    stream: subjectToken('stream', (raw.stream as string | undefined) ?? source.name),
  };
  if (source.state === 'closed') throw new InvalidStateError('cannot publish a closed source');
  const log = resolveLogger(host, { component: 'nats-publisher', subject: dataSubject(address) });
  const subject = dataSubject(address);
  const clock = clockIdentity();
  const nc: NatsConnection = await connectNats(conn, `senseflow-control ${subject}`);

  const subs: Subscription[] = [];
  // Clock probe: reply with our monotonic now (decimal ns).
  subs.push(nc.subscribe(clockSubject(address), { callback: (_e, m) => void m.respond(monotonicNs().toString()) }));
  // Control: { op: 'start' | 'stop' | 'getControl' | 'setControl' | 'listControls', name?, value? } → { ok, value | error }.
  subs.push(
    nc.subscribe(controlSubject(address), {
      callback: (_e, m) => {
        void (async () => {
          try {
            const req = JSON.parse(new TextDecoder().decode(m.data)) as { op: string; name?: string; value?: number };
            let value: unknown;
            if (req.op === 'start') await source.start();
            else if (req.op === 'stop') await source.stop();
            else if (req.op === 'getControl') value = await source.getControl(String(req.name));
            else if (req.op === 'setControl') await source.setControl(String(req.name), Number(req.value));
            else if (req.op === 'listControls') value = await source.listControls();
            else throw new Error(`unknown op '${req.op}' (one of start, stop, getControl, setControl, listControls)`);
            m.respond(JSON.stringify({ ok: true, value }));
          } catch (e) {
            m.respond(JSON.stringify({ ok: false, error: { code: (e as { code?: string }).code ?? 'EPLUGIN', message: (e as Error).message } }));
          }
        })();
      },
    }),
  );

  let jetstream: string | undefined;
  if (raw.jetstream !== undefined) {
    jetstream = subjectToken('jetstream', String(raw.jetstream));
    const jsm = await jetstreamManager(nc);
    const maxAgeNs = Number(raw.jetstreamMaxAgeSec ?? 3600) * 1e9;
    // The data and the stream's entry (its spec, for replay after the publisher is gone).
    const subjects = [subject, specSubject(address)];
    try {
      await jsm.streams.add({ name: jetstream, subjects, max_age: maxAgeNs });
    } catch {
      const info = await jsm.streams.info(jetstream);
      const have = info.config.subjects ?? [];
      if (!subjects.every((x) => have.includes(x))) await jsm.streams.update(jetstream, { ...info.config, subjects: [...new Set([...have, ...subjects])] });
    }
  }

  const kv = await openDiscoveryBucket(nc);
  const entry: StreamEntry = { ...address, subject, spec: source.spec, clock, startedAtMs: Date.now(), heartbeatAtMs: Date.now(), jetstream };
  const putEntry = () => kv.put(kvKey(address), JSON.stringify({ ...entry, heartbeatAtMs: Date.now() }));
  await putEntry();
  if (jetstream) await nc.request(specSubject(address), JSON.stringify(entry), { timeout: 5000 }).catch(() => nc.publish(specSubject(address), JSON.stringify(entry)));
  const heartbeat = setInterval(() => void putEntry().catch((e) => log.warn({ err: e }, 'discovery heartbeat failed')), HEARTBEAT_MS);
  heartbeat.unref();

  const counters = new SharedArrayBuffer(40);
  const worker = new Worker(new URL('./publisher-worker.js', import.meta.url), {
    workerData: { ring: source.ring, spec: source.spec, subject, conn, clock, sender: randomUUID(), counters },
    name: `senseflow:nats-publish ${subject}`,
  });
  const exited = new Promise<void>((r) => worker.once('exit', () => r()));
  worker.on('error', (e) => log.error({ err: e }, 'publisher worker failed'));
  const c = new BigInt64Array(counters);
  let closed = false;

  return {
    subject,
    address,
    ended: exited,
    stats: () => ({ messages: Number(c[0]), bytes: Number(c[1]), items: Number(c[2]), chunkedItems: Number(c[3]), lost: Number(c[4]) }),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      worker.postMessage('close');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      await worker.terminate();
      await kv.delete(kvKey(address)).catch(() => {});
      for (const s of subs) s.unsubscribe();
      await nc.drain().catch(() => {});
    },
  };
}
