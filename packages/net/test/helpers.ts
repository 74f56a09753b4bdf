/** Test helpers for the network sink: a raw TCP protocol client that records what it receives. */
import { connect as tcpConnect, type Socket } from 'node:net';
import { FrameParser, jsonMessage, MsgType, type Message } from '@senseflow/net';

export { decodePattern, makeBarsRow, patternGeometry, renderPattern } from '../../source-video/src/test-pattern/pattern.js';

export interface RecordingClient {
  socket: Socket;
  messages: Message[];
  closed: Promise<void>;
  /** Resolves with the first message of `type` after the call (or already received when `past`). */
  next(type: number, timeoutMs?: number): Promise<Message>;
  json(type: number): Record<string, unknown>[];
}

/** Connects over TCP, sends `hello` (unless null), and records every message. Payloads are copied. */
export function tcpClient(port: number, hello: Record<string, unknown> | null = {}, maxPayload = 64 * 1024 * 1024): Promise<RecordingClient> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    const parser = new FrameParser(maxPayload);
    const messages: Message[] = [];
    const waiters: { type: number; resolve: (m: Message) => void }[] = [];
    let onClose!: () => void;
    const closed = new Promise<void>((r) => (onClose = r));
    socket.on('data', (chunk) => {
      for (const m of parser.push(chunk)) {
        const kept = { ...m, payload: Buffer.from(m.payload) };
        messages.push(kept);
        for (const w of [...waiters]) if (w.type === m.type) waiters.splice(waiters.indexOf(w), 1), w.resolve(kept);
      }
    });
    socket.on('close', () => onClose());
    socket.on('error', () => {});
    socket.on('connect', () => {
      if (hello) socket.write(jsonMessage(MsgType.HELLO, hello));
      resolve({
        socket,
        messages,
        closed,
        next: (type, timeoutMs = 10_000) =>
          new Promise<Message>((res, rej) => {
            const t = setTimeout(() => rej(new Error(`no message of type ${type} within ${timeoutMs} ms`)), timeoutMs);
            waiters.push({ type, resolve: (m) => (clearTimeout(t), res(m)) });
          }),
        json: (type) => messages.filter((m) => m.type === type).map((m) => JSON.parse(Buffer.from(m.payload).toString('utf8')) as Record<string, unknown>),
      });
    });
    socket.once('error', reject);
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 20 ms until true (or throws after `timeoutMs`): waits on events, never asserts on time. */
export async function until(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
