// The attacks from the field report, reproduced on loopback against a real server (bounded in count and
// time): each runs while a legitimate client connects, which must get its STREAMS within 1 s every time.
// Attackers connect from other loopback addresses (127.0.0.x: Linux routes all of 127/8 to lo).
import { connect as tcpConnect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { VideoSource } from '@senseflow/core';
import { openTestPattern } from '@senseflow/source-video';
import { jsonMessage, MsgType, serve, type NetServer } from '@senseflow/net';
import { sleep, tcpClient } from './helpers.js';

const MAGIC = Buffer.from('SFN1');

/** Keeps `n` attacking sockets open from `from`, reopening each as the server closes it, until stopped. */
function flood(port: number, from: string[], n: number, first: (s: Socket) => void) {
  let stopped = false;
  const live = new Set<Socket>();
  let opened = 0;
  const open = (addr: string) => {
    if (stopped) return;
    const s = tcpConnect({ host: '127.0.0.1', port, localAddress: addr });
    opened++;
    live.add(s);
    s.on('connect', () => first(s));
    s.on('error', () => {});
    s.on('close', () => {
      live.delete(s);
      setTimeout(() => open(addr), 10); // reopened as it times out (or is refused, or evicted)
    });
  };
  for (let i = 0; i < n; i++) open(from[i % from.length]);
  return {
    get opened() {
      return opened;
    },
    stop() {
      stopped = true;
      for (const s of live) s.destroy();
    },
  };
}

/** A legitimate TCP client: connect + HELLO → STREAMS, timed. */
async function legit(port: number): Promise<number> {
  const t0 = performance.now();
  const c = await tcpClient(port, { token: 'tok', video: 'jpeg' });
  try {
    await c.next(MsgType.STREAMS, 1000);
    return performance.now() - t0;
  } finally {
    c.socket.destroy();
  }
}

async function legitWs(port: number): Promise<number> {
  const t0 = performance.now();
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no STREAMS within 1 s over WebSocket')), 1000);
      ws.on('open', () => ws.send(jsonMessage(MsgType.HELLO, { token: 'tok' })));
      ws.on('message', (d: Buffer) => d[4] === MsgType.STREAMS && (clearTimeout(t), resolve()));
      ws.on('error', reject);
    });
    return performance.now() - t0;
  } finally {
    ws.terminate();
  }
}

describe('availability under pre-HELLO attacks (token-protected server)', () => {
  let cam: VideoSource;
  let server: NetServer;
  beforeAll(async () => {
    cam = (await openTestPattern({ width: 160, height: 120, fps: 15 })) as VideoSource;
    server = await serve({ sources: { cam }, port: 0, token: 'tok', helloTimeoutMs: 1500 });
  });
  afterAll(async () => {
    await server?.close();
    await cam?.close();
  });

  it('16 sockets that send only the magic, reopened as they time out, never keep a client out', async () => {
    const attack = flood(server.address.port, ['127.0.0.2'], 16, (s) => s.write(MAGIC));
    try {
      await sleep(300);
      for (let i = 0; i < 8; i++) {
        expect(await legit(server.address.port)).toBeLessThan(1000);
        await sleep(200);
      }
    } finally {
      attack.stop();
    }
    const r = await server.rejected();
    expect(r['pending-per-address']).toBeGreaterThan(0); // the attacker's own budget was what ran out
    expect(r['too-many-clients'] ?? 0).toBe(0);
  });

  it('a flood of pending sockets from many addresses evicts the oldest instead of locking newcomers out', async () => {
    const addrs = Array.from({ length: 20 }, (_, i) => `127.0.1.${i + 1}`);
    const attack = flood(server.address.port, addrs, 160, (s) => s.write(MAGIC)); // 160 > the total budget of 64
    try {
      await sleep(300);
      for (let i = 0; i < 5; i++) expect(await legit(server.address.port)).toBeLessThan(1000);
      expect(await legitWs(server.address.port)).toBeLessThan(1000);
    } finally {
      attack.stop();
    }
    expect((await server.rejected())['pending-evicted']).toBeGreaterThan(0);
  });

  it('16 WebSocket upgrades without HELLO never keep a client out', async () => {
    const sockets: WebSocket[] = [];
    let stopped = false;
    const open = () => {
      if (stopped) return;
      const ws = new WebSocket(`ws://127.0.0.1:${server.address.port}/ws`, { localAddress: '127.0.0.3' });
      sockets.push(ws);
      ws.on('error', () => {});
      ws.on('close', () => setTimeout(open, 10));
    };
    for (let i = 0; i < 16; i++) open();
    try {
      await sleep(300);
      for (let i = 0; i < 5; i++) {
        expect(await legit(server.address.port)).toBeLessThan(1000);
        expect(await legitWs(server.address.port)).toBeLessThan(1000);
      }
    } finally {
      stopped = true;
      for (const ws of sockets) ws.terminate();
    }
  });

  it('80 half-sent HTTP requests are timed out and never block TCP, WebSocket or the dashboard', async () => {
    const addrs = Array.from({ length: 10 }, (_, i) => `127.0.2.${i + 1}`);
    const held: Socket[] = [];
    for (let i = 0; i < 80; i++) {
      const s = tcpConnect({ host: '127.0.0.1', port: server.address.port, localAddress: addrs[i % addrs.length] });
      s.on('connect', () => s.write('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: '));
      s.on('error', () => {});
      held.push(s);
    }
    try {
      await sleep(300);
      expect(await legit(server.address.port)).toBeLessThan(1000);
      expect(await legitWs(server.address.port)).toBeLessThan(1000);
      const t0 = performance.now();
      const page = await fetch(`http://127.0.0.1:${server.address.port}/`, { signal: AbortSignal.timeout(1000) });
      expect(page.status).toBeLessThan(500);
      expect(performance.now() - t0).toBeLessThan(1000);
      // The half-sent requests do not stay: closed at the pending deadline (1.5 s here).
      await sleep(2500);
      expect(held.filter((s) => !s.destroyed && s.readyState === 'open').length).toBe(0);
    } finally {
      for (const s of held) s.destroy();
    }
  });

  it('caps the connections of one address', async () => {
    const small = await serve({ sources: { cam }, port: 0, token: 'tok', maxConnectionsPerAddress: 4, dashboard: false });
    const clients = await Promise.all(Array.from({ length: 4 }, () => tcpClient(small.address.port, { token: 'tok' })));
    try {
      for (const c of clients) await c.next(MsgType.STREAMS, 5000);
      const fifth = await tcpClient(small.address.port, { token: 'tok' });
      await fifth.closed;
      expect(fifth.messages.some((m) => m.type === MsgType.STREAMS)).toBe(false);
      expect((await small.rejected())['per-address']).toBe(1);
    } finally {
      for (const c of clients) c.socket.destroy();
      await small.close();
    }
  });
});
