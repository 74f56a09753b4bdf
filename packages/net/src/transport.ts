/**
 * One connection's byte pipe, the same for both transports: a TCP socket carries messages back to back, a
 * WebSocket carries one message per binary frame. The server only needs to send, to know how much is
 * still buffered (its backpressure signal), and to be told when the buffer drains.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

export interface Transport {
  readonly kind: 'tcp' | 'ws';
  readonly remote: string;
  /** Queues one whole message (header + payload). Never blocks. `done` runs once the bytes left the buffer (or failed). */
  send(msg: Uint8Array | Uint8Array[], done?: () => void): void;
  /** Bytes accepted but not yet handed to the kernel. */
  buffered(): number;
  /** Closes gracefully (after flushing what is queued), or at once with `destroy`. */
  close(destroy?: boolean): void;
  /** The underlying socket (its 'drain' event means the buffer emptied). */
  readonly socket: Socket;
}

/** `host:port`, with an IPv6 host in brackets (`[::1]:5000`). */
export const remoteOf = (s: Socket): string => (s.remoteAddress?.includes(':') ? `[${s.remoteAddress}]:${s.remotePort}` : `${s.remoteAddress}:${s.remotePort}`);

export function tcpTransport(socket: Socket): Transport {
  return {
    kind: 'tcp',
    remote: remoteOf(socket),
    socket,
    send(msg, done) {
      if (!Array.isArray(msg)) return void socket.write(msg, done && (() => done()));
      socket.cork();
      msg.forEach((part, i) => socket.write(part, i === msg.length - 1 && done ? () => done() : undefined));
      socket.uncork();
    },
    buffered: () => socket.writableLength,
    close: (destroy) => (destroy ? socket.destroy() : socket.end()),
  };
}

export function wsTransport(ws: WebSocket, socket: Socket): Transport {
  return {
    kind: 'ws',
    remote: remoteOf(socket),
    socket,
    send(msg, done) {
      if (!Array.isArray(msg)) return ws.send(msg, { binary: true }, done && (() => done()));
      // One protocol message = one WebSocket message, sent as fragments (no copy to join them).
      msg.forEach((part, i) => ws.send(part, { binary: true, fin: i === msg.length - 1 }, i === msg.length - 1 && done ? () => done() : undefined));
    },
    buffered: () => ws.bufferedAmount,
    close: (destroy) => (destroy ? ws.terminate() : ws.close(1000)),
  };
}
