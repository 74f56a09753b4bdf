import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, parseConnectionOptions, type NatsConnectionOptions } from './connection.js';
import type { StreamEntry } from './publish.js';
import { KV_BUCKET, controlSubject, parseDataSubject } from './subjects.js';

/** A stream is live while its publisher's heartbeat (every 5 s) is fresher than this. */
const STALE_MS = 15_000;

const CREATE_ATTEMPTS = 4;

/**
 * The discovery bucket, created if it does not exist yet. Publishers starting together on a server without
 * it all try to create it, and nats-server 2.9 (Debian 12's) can fail a concurrent create of the same stream
 * ("subjects overlap with an existing stream", or an API timeout): a failed create is followed by binding to
 * the bucket another publisher made, and retried while neither works.
 */
export async function openDiscoveryBucket(nc: NatsConnection): Promise<KV> {
  const kvm = new Kvm(nc);
  for (let attempt = 1; ; attempt++) {
    try {
      return await kvm.create(KV_BUCKET, { history: 1 });
    } catch (e) {
      const made = await findDiscoveryBucket(nc);
      if (made) return made;
      if (attempt === CREATE_ATTEMPTS) throw new Error(`cannot create the discovery bucket '${KV_BUCKET}' (${CREATE_ATTEMPTS} attempts): ${(e as Error).message}`, { cause: e });
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}

/** The discovery bucket, or null when no publisher has made it on this server yet. */
export async function findDiscoveryBucket(nc: NatsConnection): Promise<KV | null> {
  // open() binds without asking the server: status() is what shows the bucket exists.
  return new Kvm(nc)
    .open(KV_BUCKET)
    .then(async (kv) => (await kv.status(), kv))
    .catch(() => null);
}

/**
 * Lists the streams published on a NATS server (from the `senseflow_streams` KV bucket), newest heartbeat
 * first. Entries whose publisher stopped heartbeating are left out.
 */
export async function listRemoteStreams(options: NatsConnectionOptions = {}): Promise<StreamEntry[]> {
  const nc = await connectNats(parseConnectionOptions({ ...options }), 'senseflow-discovery');
  try {
    const kv = await findDiscoveryBucket(nc);
    if (!kv) return []; // nothing was ever published here
    const out: StreamEntry[] = [];
    for await (const key of await kv.keys()) {
      const e = await kv.get(key);
      if (!e || e.operation !== 'PUT' || !e.length) continue;
      const entry = JSON.parse(e.string()) as StreamEntry;
      if (Date.now() - entry.heartbeatAtMs <= STALE_MS) out.push(entry);
    }
    return out.sort((a, b) => b.heartbeatAtMs - a.heartbeatAtMs);
  } finally {
    await nc.close();
  }
}

/** Sends a control request to a published stream: start, stop, getControl, setControl, listControls. */
export async function controlRemote(
  options: NatsConnectionOptions & { subject: string },
  req: { op: 'start' | 'stop' | 'getControl' | 'setControl' | 'listControls'; name?: string; value?: number },
): Promise<unknown> {
  const nc = await connectNats(parseConnectionOptions({ ...options }), 'senseflow-control-client');
  try {
    const m = await nc.request(controlSubject(parseDataSubject(options.subject)), JSON.stringify(req), { timeout: 5000 });
    const r = JSON.parse(new TextDecoder().decode(m.data)) as { ok: boolean; value?: unknown; error?: { message: string } };
    if (!r.ok) throw new Error(r.error?.message ?? 'remote control failed');
    return r.value;
  } finally {
    await nc.close();
  }
}
