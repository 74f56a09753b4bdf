/** The `senseflow_streams` KV bucket that discovery keeps its entries in: found, or made once. */
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { KV_BUCKET } from './subjects.js';

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
