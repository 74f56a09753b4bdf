/**
 * The Foxglove server's worker: runs {@link FoxgloveCore} (listener, clients, ring reading and encoding) off
 * the main thread. The main thread sends only control, queries and the sources' events; no data crosses
 * the port.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { serializeError } from '@senseflow/core';
import { FoxgloveCore, type FoxgloveCoreOptions } from './core.js';

/** main → worker */
export type FoxgloveRequest =
  | { t: 'event'; stream: number; atNs: string; event: Record<string, unknown> }
  | { t: 'query'; id: number; what: 'clients' | 'rejected' }
  | { t: 'close' };
/** worker → main */
export type FoxgloveReply =
  | { t: 'listening'; host: string; port: number }
  | { t: 'failed'; error: ReturnType<typeof serializeError> }
  | { t: 'answer'; id: number; value: unknown }
  | { t: 'closed' };

const port = parentPort!;
const post = (m: FoxgloveReply) => port.postMessage(m);
const core = new FoxgloveCore(workerData as FoxgloveCoreOptions);

port.on('message', (m: FoxgloveRequest) => {
  if (m.t === 'event') core.event(m.stream, BigInt(m.atNs), m.event);
  else if (m.t === 'query') post({ t: 'answer', id: m.id, value: m.what === 'clients' ? core.clientStats() : { ...core.rejected } });
  else if (m.t === 'close') {
    void core.close().finally(() => {
      post({ t: 'closed' });
      port.close();
    });
  }
});

try {
  await core.listen();
  post({ t: 'listening', ...core.address });
} catch (e) {
  post({ t: 'failed', error: serializeError(e) });
  await core.close();
  port.close();
}
