import { findDiscoveryBucket } from './bucket.js';
import { connectNats, parseConnectionOptions, type NatsConnectionOptions } from './connection.js';
import type { StreamEntry } from './publish.js';
import { controlSubject, parseDataSubject } from './subjects.js';

/** A stream is live while its publisher's heartbeat (every 5 s) is fresher than this. */
const STALE_MS = 15_000;

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
