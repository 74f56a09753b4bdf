/** The client's URL forms: `tcp://host:port` (raw TCP framing) or `ws://host:port/ws` (WebSocket). */
import { InvalidOptionError } from '@senseflow/core';

export function parseEndpoint(url: string | URL): URL {
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    throw new InvalidOptionError('url', 'a tcp://host:port or ws://host:port/ws URL', url);
  }
  if (u.protocol !== 'tcp:' && u.protocol !== 'ws:' && u.protocol !== 'wss:')
    throw new InvalidOptionError('url', 'a tcp://host:port or ws://host:port/ws URL', String(url));
  if (!u.port && u.protocol === 'tcp:') throw new InvalidOptionError('url', 'a URL with a port (tcp://host:port)', String(url));
  return u;
}
