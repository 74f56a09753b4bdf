import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DeviceNotFoundError, InvalidOptionError, nonEmptyString } from '@senseflow/core';

/** How to reach the NATS server (shared by the publisher and the remote source). */
export interface NatsConnectionOptions {
  /** `nats://host:port`, or several. Default `nats://127.0.0.1:4222`. */
  servers?: string | string[];
  token?: string;
  user?: string;
  pass?: string;
  /** Give up the first connection after this long (default 5000 ms). Later disconnects reconnect forever. */
  connectTimeoutMs?: number;
}

export function parseConnectionOptions(o: Record<string, unknown>): Required<Pick<NatsConnectionOptions, 'servers' | 'connectTimeoutMs'>> & NatsConnectionOptions {
  const servers = o.servers ?? 'nats://127.0.0.1:4222';
  const list = Array.isArray(servers) ? servers : [servers];
  if (!list.length || !list.every((s) => typeof s === 'string' && /^(nats|tls|ws|wss):\/\/|^[\w.-]+:\d+$/.test(s)))
    throw new InvalidOptionError('servers', 'a NATS URL like nats://127.0.0.1:4222 (or a list of them)', servers);
  const out: NatsConnectionOptions & { servers: string | string[]; connectTimeoutMs: number } = {
    servers: list as string[],
    connectTimeoutMs: typeof o.connectTimeoutMs === 'number' ? o.connectTimeoutMs : 5000,
  };
  if (o.token !== undefined) out.token = nonEmptyString('token', o.token);
  if (o.user !== undefined) out.user = nonEmptyString('user', o.user);
  if (o.pass !== undefined) out.pass = nonEmptyString('pass', o.pass);
  return out;
}

/** Connects with reconnection forever after the first success; a failed first attempt is a typed error. */
export async function connectNats(o: NatsConnectionOptions, name: string): Promise<NatsConnection> {
  try {
    return await connect({
      servers: o.servers,
      token: o.token,
      user: o.user,
      pass: o.pass,
      name,
      timeout: o.connectTimeoutMs ?? 5000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      waitOnFirstConnect: false,
    });
  } catch (e) {
    const msg = (e as Error).message;
    if (/authorization|authentication/i.test(msg))
      throw new InvalidOptionError('token', 'credentials the NATS server accepts (token, or user and pass)', '(rejected)', { server: o.servers });
    throw new DeviceNotFoundError(`cannot reach the NATS server at ${String(o.servers)}: ${msg}`, { servers: o.servers });
  }
}
