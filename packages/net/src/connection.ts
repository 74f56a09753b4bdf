/**
 * The client side of one connection, over TCP (`tcp://host:port`) or WebSocket (`ws://host:port/ws`):
 * sends messages, hands every received message to `onMessage`, reports the close once.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { InvalidOptionError } from '@senseflow/core';
import { decodeMessage, FrameParser, type Message } from './codec.js';

export interface ClientConnection {
  send(msg: Uint8Array): void;
  close(): void;
}

export interface ConnectionHandlers {
  onOpen(): void;
  onMessage(m: Message): void;
  onClose(reason: string): void;
}

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

export function openConnection(u: URL, maxPayload: number, h: ConnectionHandlers): ClientConnection {
  let closed = false;
  const done = (reason: string) => {
    if (closed) return;
    closed = true;
    h.onClose(reason);
  };
  if (u.protocol === 'tcp:') {
    const socket: Socket = tcpConnect({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port), noDelay: true });
    const parser = new FrameParser(maxPayload);
    socket.on('connect', () => h.onOpen());
    socket.on('data', (chunk) => {
      try {
        for (const m of parser.push(chunk)) h.onMessage(m);
      } catch (e) {
        socket.destroy();
        done((e as Error).message);
      }
    });
    socket.on('error', (e) => done(e.message));
    socket.on('close', () => done('connection closed'));
    return { send: (m) => void socket.write(m), close: () => socket.destroy() };
  }
  const path = u.pathname === '/' ? '/ws' : u.pathname;
  const ws = new WebSocket(`${u.protocol}//${u.host}${path}`, { maxPayload: maxPayload + 64, perMessageDeflate: false });
  ws.binaryType = 'nodebuffer';
  ws.on('open', () => h.onOpen());
  ws.on('message', (data: Buffer, isBinary) => {
    try {
      if (isBinary) h.onMessage(decodeMessage(data, maxPayload));
    } catch (e) {
      ws.terminate();
      done((e as Error).message);
    }
  });
  ws.on('error', (e) => done(e.message));
  ws.on('close', (code, reason) => done(`closed (${code}${reason.length ? `: ${reason.toString()}` : ''})`));
  return { send: (m) => ws.send(m, { binary: true }), close: () => ws.terminate() };
}
