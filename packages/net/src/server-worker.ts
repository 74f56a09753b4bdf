/**
 * The server's worker: runs {@link ServerCore} (sockets, clients, the rings' feeds, JPEG encoding) off the
 * main thread. The main thread only sends control and once-a-second source stats; no data crosses the port.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { serializeError } from '@senseflow/core';
import { ServerCore, type CoreOptions } from './server-core.js';

/** main → worker */
export type ServerRequest =
  | { t: 'stats'; stream: number; stats: Record<string, unknown> }
  | { t: 'query'; id: number; what: 'clients' | 'queuedBytes' | 'rejected' }
  | { t: 'close' };
/** worker → main */
export type ServerReply =
  | { t: 'listening'; host: string; port: number; session: string }
  | { t: 'failed'; error: ReturnType<typeof serializeError> }
  | { t: 'answer'; id: number; value: unknown }
  | { t: 'closed' };

const port = parentPort!;
const post = (m: ServerReply) => port.postMessage(m);
const core = new ServerCore(workerData as CoreOptions);

port.on('message', (m: ServerRequest) => {
  if (m.t === 'stats') {
    const f = core.feeds[m.stream];
    if (f) f.lastStats = m.stats;
  } else if (m.t === 'query') {
    const value = m.what === 'clients' ? core.clientStats() : m.what === 'queuedBytes' ? core.queuedBytes() : { ...core.rejected };
    post({ t: 'answer', id: m.id, value });
  } else if (m.t === 'close') {
    void core.close().finally(() => {
      post({ t: 'closed' });
      port.close();
    });
  }
});

try {
  await core.listen();
  const { host, port: p } = core.address;
  post({ t: 'listening', host, port: p, session: core.session });
} catch (e) {
  post({ t: 'failed', error: serializeError(e) });
  await core.close();
  port.close();
}
