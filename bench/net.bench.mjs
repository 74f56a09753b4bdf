// Network sink on loopback: senseflow's server (raw TCP framing, latest-wins per client) versus the seed's
// approach (length-prefixed frames written to every socket as they come, no backpressure), same frames,
// same run. The server runs in a child process; clients run here.
//   node bench/net.bench.mjs [--quick] [--only throughput] [--json out.json]
//
// Phases:
//   1. raw throughput, 1 client, 1920×1080 rgb24 frames offered at up to 1000 fps (6.2 GB/s), vs a plain-socket
//      ceiling (a plain Node socket pair in the same run); and end to end into a remote ring: serve() → connect()
//      (the receive worker writes every frame into the local ring), TCP and WebSocket. Each line prints the CPU
//      of the threads involved (from /proc/<pid>/task/*/stat): the ceiling is one writer thread and one reader
//      thread; end to end adds the source worker (a commit per frame, no pixels) and puts the server and the
//      receiver in workers — on a 2-core machine these share the same two cores. CPU per GB (ms of one core
//      per GB moved) compares the work each side does per byte even when other load starves one run.
//   2. slow client: one client stops reading; the other's latency and the server's memory, before/during;
//      then the stalled client resumes: does it get the present (latest-wins) or a backlog?
//   3. JPEG (640×480 @ 30 fps): senseflow (encode on the thread pool, newest frame) vs the seed (encode
//      every frame in turn on the main thread, write to every socket)
//
// This file is also the bench's "blast" source plugin: imported in a source worker it only exports the
// definition (a frame ring filled once; each frame gets a new seq and capture time, no rendering), so the
// numbers measure the network path, not pixel generation.
import { isMainThread } from 'node:worker_threads';
import { spawn } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadAverage } from './load.mjs';
import { defineSource, FrameRingReader, monotonicNs, openSource } from '@senseflow/core';

export default defineSource({
  name: 'net-bench-blast',
  options: (raw) => ({ width: 1920, height: 1080, fps: 1000, slots: 8, ...(raw ?? {}) }),
  describe: (o) => ({
    kind: 'video',
    width: o.width,
    height: o.height,
    pixelFormat: 'rgb24',
    stride: o.width * 3,
    fps: o.fps,
    ring: { slots: o.slots, slotBytes: o.width * o.height * 3 },
    description: `[bench blast] ${o.width}x${o.height} rgb24 up to ${o.fps} fps`,
  }),
  open(ctx, o) {
    const bytes = o.width * o.height * 3;
    for (let i = 0; i < o.slots; i++) {
      const s = ctx.frames.begin();
      for (let k = 0; k < bytes; k++) s.data[k] = (k * 31 + i) & 0xff;
      ctx.frames.abort(s);
    }
    const period = BigInt(Math.round(1e9 / o.fps));
    let run = null;
    const loop = async (signal) => {
      let next = ctx.clock.now();
      while (!signal.aborted) {
        // Above 500 fps, sleep 1 ms per frame instead: a precise sleep would spin a core the server needs.
        if (period < 2_000_000n) await new Promise((r) => setTimeout(r, 1));
        else await ctx.clock.sleepUntil(next, signal);
        next += period;
        const now = ctx.clock.now();
        if (now > next + period * 10n) next = now; // behind: do not burst
        const s = ctx.frames.begin();
        if (!s) continue;
        ctx.frames.commit(s, bytes, ctx.clock.now());
      }
    };
    return {
      start() {
        run = new AbortController();
        loop(run.signal).catch((e) => ctx.error(e));
      },
      stop() {
        run?.abort();
      },
      close() {
        run?.abort();
      },
    };
  },
});

const SELF = fileURLToPath(import.meta.url);
const arg = (name, dflt) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1] : dflt);

// ---- server role (child process) ------------------------------------------------------------------

async function serverRole() {
  const mode = arg('mode');
  if (mode === 'ceiling') {
    // No source, no framing: eight 6 MB buffers (the ring's footprint) written in turn as fast as the
    // socket drains — the most this machine's loopback carries; the other numbers are read against it.
    const { createServer } = await import('node:net');
    const bufs = Array.from({ length: 8 }, (_, i) => Buffer.alloc(1920 * 1080 * 3, i));
    let k = 0;
    const srv = createServer((s) => {
      const write = () => {
        while (!s.destroyed && s.write(bufs[k++ % bufs.length]));
      };
      s.on('drain', write);
      s.on('error', () => {});
      write();
    });
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    console.log(JSON.stringify({ port: srv.address().port }));
    process.stdin.resume();
    process.stdin.on('end', () => process.exit(0));
    return;
  }
  const width = Number(arg('width'));
  const height = Number(arg('height'));
  const fps = Number(arg('fps'));
  const jpeg = arg('video') === 'jpeg';
  const src = await openSource(new URL(import.meta.url), { width, height, fps });
  let port;
  if (mode === 'senseflow') {
    const { serve } = await import('@senseflow/net');
    const highWaterBytes = arg('high-water') ? Number(arg('high-water')) : undefined;
    const server = await serve({ sources: { cam: src }, port: 0, dashboard: false, highWaterBytes });
    port = server.address.port;
  } else {
    // The seed: every frame, length-prefixed ([u32 len][u64 seq][i64 captureNs][payload]), written to
    // every client straight away. socket.write never refuses, so a slow client's backlog grows in memory.
    const sharp = createRequire(createRequire(import.meta.url).resolve('@senseflow/net'))('sharp');
    const clients = new Set();
    const { createServer } = await import('node:net');
    const srv = createServer((s) => {
      s.setNoDelay(true);
      clients.add(s);
      s.on('close', () => clients.delete(s));
      s.on('error', () => {});
    });
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    port = srv.address().port;
    let encoding = Promise.resolve();
    const send = (seq, cap, payload) => {
      const head = Buffer.allocUnsafe(20);
      head.writeUInt32LE(payload.length + 16, 0);
      head.writeBigUInt64LE(seq, 4);
      head.writeBigInt64LE(cap, 12);
      for (const c of clients) {
        c.write(head);
        c.write(payload);
      }
    };
    src.frames$.subscribe((f) => {
      if (clients.size === 0) return;
      const copy = Buffer.from(f.data); // the ring slot is reused: the seed copies every frame
      if (!jpeg) return send(f.seq, f.captureNs, copy);
      const { seq, captureNs } = f;
      encoding = encoding.then(async () => send(seq, captureNs, await sharp(copy, { raw: { width, height, channels: 3 } }).jpeg({ quality: 80 }).toBuffer()));
    });
  }
  console.log(JSON.stringify({ port }));
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

// ---- client side ------------------------------------------------------------------------------------

function startServer(mode, o) {
  const child = spawn(process.execPath, [SELF, '--role', 'server', '--mode', mode, '--width', String(o.width), '--height', String(o.height), '--fps', String(o.fps), '--video', o.video], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (l) => resolve({ child, port: JSON.parse(l).port }));
    child.once('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
}

/** CPU time (user + system, in 1/100 s ticks) of every thread of `pid`, by thread id. */
function threadTicks(pid) {
  const m = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const st = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      m.set(Number(tid), Number(f[11]) + Number(f[12]));
    } catch {
      /* the thread ended */
    }
  }
  return m;
}

/**
 * Per-thread CPU of processes over a window, so each figure says which thread was the limit (a thread near
 * 100 % is; a pair of threads both well below it means the path waits, not works).
 */
function cpuWindow(pids) {
  const a = pids.map(threadTicks);
  const t0 = performance.now();
  return () => {
    const secs = (performance.now() - t0) / 1000;
    return pids.map((pid, i) => {
      const per = new Map();
      for (const [tid, ticks] of threadTicks(pid)) per.set(tid, (ticks - (a[i].get(tid) ?? 0)) / secs);
      let total = 0;
      let busiest = 0;
      let busiestTid = 0;
      for (const [tid, pctv] of per) {
        total += pctv;
        if (pctv > busiest) [busiest, busiestTid] = [pctv, tid];
      }
      return { total, busiest, busiestTid, main: per.get(pid) ?? 0, per };
    });
  };
}

const rssOf = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;

/** A client that parses headers in place and skips payload bytes (no reassembly): measures the wire. */
function wireClient(port, mode, hello) {
  const st = { bytes: 0, frames: 0, lat: [], socket: null };
  const socket = tcpConnect({ host: '127.0.0.1', port, noDelay: true });
  st.socket = socket;
  const HEAD = mode === 'senseflow' ? 56 : 20;
  const head = Buffer.alloc(HEAD);
  let headGot = 0;
  let remaining = 0;
  let cap = 0n;
  let isFrame = false;
  socket.on('connect', async () => {
    if (mode === 'senseflow') {
      const { jsonMessage, MsgType } = await import('@senseflow/net');
      socket.write(jsonMessage(MsgType.HELLO, hello));
    }
  });
  socket.on('data', (chunk) => {
    st.bytes += chunk.length;
    let off = 0;
    while (off < chunk.length) {
      if (remaining === 0) {
        const k = Math.min(HEAD - headGot, chunk.length - off);
        chunk.copy(head, headGot, off, off + k);
        headGot += k;
        off += k;
        if (headGot < HEAD) break;
        headGot = 0;
        if (mode === 'senseflow') {
          remaining = head.readUInt32LE(8);
          isFrame = head[4] === 3;
          cap = head.readBigInt64LE(24);
        } else {
          remaining = head.readUInt32LE(0) - 16;
          isFrame = true;
          cap = head.readBigInt64LE(12);
        }
        if (remaining === 0 && isFrame) done();
        continue;
      }
      const k = Math.min(remaining, chunk.length - off);
      remaining -= k;
      off += k;
      if (remaining === 0 && isFrame) done();
    }
  });
  socket.on('error', () => {});
  function done() {
    st.frames++;
    st.lat.push(Number(monotonicNs() - cap) / 1e6);
  }
  return st;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (a, p) => {
  if (!a.length) return NaN;
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))];
};
const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
/** CPU time per GB moved (ms of one core per GB): comparable across runs even when the load starves a path. */
const perGB = (pctv, gbps) => `${f((pctv * 10) / gbps, 0)} ms/GB`;

async function window(st, ms, serverPid) {
  const b0 = st.bytes;
  const n0 = st.frames;
  st.lat = [];
  const cpu = serverPid ? cpuWindow([serverPid, process.pid]) : null;
  const t0 = performance.now();
  await sleep(ms);
  const dt = (performance.now() - t0) / 1000;
  const [server, client] = cpu ? cpu() : [];
  return { gbps: (st.bytes - b0) / dt / 1e9, fps: (st.frames - n0) / dt, p50: pct(st.lat, 0.5), p99: pct(st.lat, 0.99), server, reader: client?.main };
}

/**
 * Frames offered per second in the raw runs: 1000 fps × 6.2 MB = 6.2 GB/s (the blast source sleeps 1 ms per
 * frame above 500 fps, so ~900 fps in practice), well above what this loopback carries (2–3.5 GB/s), so
 * the figures measure the network path, not the source's rate. (400 fps = 2.5 GB/s capped it below the ceiling.)
 */
const OFFERED_FPS = 1000;

async function throughput(mode, secs) {
  // The seed copies every frame and queues it without bound: offered more than it sends, its memory grows by the
  // difference (GB per second at 1000 fps). It sends ~100 fps on a quiet machine, so 400 fps does not cap it.
  const fps = mode === 'seed' ? 400 : OFFERED_FPS;
  const { child, port } = await startServer(mode, { width: 1920, height: 1080, fps, video: 'raw' });
  try {
    const c = wireClient(port, mode, { video: 'raw' });
    await sleep(800); // warm-up
    const r = await window(c, secs * 1000, child.pid);
    c.socket.destroy();
    return { ...r, offeredFps: fps };
  } finally {
    child.stdin.end();
  }
}

/** End to end: frames that reached a connect() Source's ring per second (received, not skipped), × frame bytes. */
async function endToEnd(transport, secs) {
  const { child, port } = await startServer('senseflow', { width: 1920, height: 1080, fps: OFFERED_FPS, video: 'raw' });
  const { connect } = await import('@senseflow/net');
  try {
    const url = transport === 'tcp' ? `tcp://127.0.0.1:${port}` : `ws://127.0.0.1:${port}/ws`;
    const cam = await connect(url, { stream: 'cam' });
    const ring = new FrameRingReader(cam.ring); // the remote ring's write position (seq of the next item)
    await sleep(800);
    // The bench's only work here is reading the ring's head twice: its main thread is not on the data path.
    const at = () => ({ seq: ring.head(), lost: cam.drops().network, t: performance.now() });
    const cpu = cpuWindow([child.pid, process.pid]);
    const a = at();
    await sleep(secs * 1000);
    const b = at();
    const [server, client] = cpu();
    const frames = Number(b.seq - a.seq) - (b.lost - a.lost);
    const dt = (b.t - a.t) / 1000;
    await cam.close();
    const worker = Math.max(0, ...[...client.per].filter(([tid]) => tid !== process.pid).map(([, v]) => v));
    return { gbps: (frames * 1920 * 1080 * 3) / dt / 1e9, fps: frames / dt, server, receiveWorker: worker, main: client.main, receivingProcess: client.total };
  } finally {
    child.stdin.end();
  }
}

async function slowClient(mode, secs, o) {
  const { child, port } = await startServer(mode, o);
  try {
    const fast = wireClient(port, mode, { video: o.video });
    const slow = wireClient(port, mode, { video: o.video });
    await sleep(800);
    const before = await window(fast, secs * 1000);
    const rssBefore = rssOf(child.pid);
    slow.socket.pause(); // stops reading: the kernel buffers fill, then the server's
    const during = await window(fast, secs * 1000);
    const rssAfter = rssOf(child.pid);
    slow.socket.resume(); // what does the slow client get now: the present, or a backlog?
    const [late, slowAfter] = await Promise.all([window(fast, secs * 1000), window(slow, secs * 1000)]);
    fast.socket.destroy();
    slow.socket.destroy();
    return { before, during, late, slowAfter, rssGrowthMB: (rssAfter - rssBefore) / 2 ** 20 };
  } finally {
    child.stdin.end();
  }
}

async function main() {
  const quick = process.argv.includes('--quick');
  const secs = quick ? 1.5 : 3;
  const out = {};
  console.log(`net bench ${new Date().toISOString()}: loopback, ${secs}s windows, server in a child process${quick ? ' (quick)' : ''}; load average before: ${loadAverage()}, ${(await import('node:os')).cpus().length} CPUs\n`);

  console.log('1. raw 1920x1080 rgb24, one client (GB/s on the wire, frames/s, capture→client latency ms)');
  {
    const { child, port } = await startServer('ceiling', { width: 0, height: 0, fps: 0, video: 'raw' });
    const st = { bytes: 0 };
    const sock = tcpConnect({ host: '127.0.0.1', port });
    sock.on('data', (c) => (st.bytes += c.length));
    sock.on('error', () => {});
    await sleep(500);
    const b0 = st.bytes;
    const cpu = cpuWindow([child.pid, process.pid]);
    const t0 = performance.now();
    await sleep(secs * 1000);
    out.ceilingGBps = (st.bytes - b0) / ((performance.now() - t0) / 1000) / 1e9;
    const [server, client] = cpu();
    out.ceilingCpu = { writer: server.busiest, writerProcess: server.total, reader: client.main };
    sock.destroy();
    child.stdin.end();
    console.log(`   ${'ceiling'.padEnd(10)} ${f(out.ceilingGBps, 2)} GB/s  (plain socket, 8 frame buffers in turn, no framing, no source: this machine's loopback limit now)`);
    console.log(`   ${''.padEnd(10)} cpu: writer thread ${f(server.busiest, 0)} % (its process ${f(server.total, 0)} %, ${perGB(server.total, out.ceilingGBps)}), reader thread ${f(client.main, 0)} % (${perGB(client.main, out.ceilingGBps)})`);
  }
  for (const mode of ['senseflow', 'seed']) {
    const r = await throughput(mode, secs);
    out[`raw.${mode}`] = r;
    console.log(`   ${mode.padEnd(10)} ${f(r.gbps, 2)} GB/s  ${f(r.fps)} fps  p50 ${f(r.p50)} ms  p99 ${f(r.p99)} ms  (offered ${r.offeredFps} fps)`);
    console.log(`   ${''.padEnd(10)} cpu: server process ${f(r.server.total, 0)} % (busiest thread ${f(r.server.busiest, 0)} %, ${perGB(r.server.total, r.gbps)}), reader thread ${f(r.reader, 0)} % (${perGB(r.reader, r.gbps)}; parses headers, skips payloads)`);
  }
  console.log(`   senseflow/ceiling ${f(out['raw.senseflow'].gbps / out.ceilingGBps, 2)}×, senseflow/seed ${f(out['raw.senseflow'].gbps / out['raw.seed'].gbps, 2)}×`);
  for (const transport of ['tcp', 'ws']) {
    const r = await endToEnd(transport, secs);
    out[`e2e.${transport}`] = r;
    console.log(`   connect() ${transport.padEnd(3)}  ${f(r.gbps, 2)} GB/s  ${f(r.fps)} fps into the remote ring  = ${f(r.gbps / out.ceilingGBps, 2)}× the plain socket pair`);
    console.log(`   ${''.padEnd(10)} cpu: server process ${f(r.server.total, 0)} % (busiest thread ${f(r.server.busiest, 0)} %, ${perGB(r.server.total, r.gbps)}), receive worker ${f(r.receiveWorker, 0)} % (${perGB(r.receiveWorker, r.gbps)}), bench main thread ${f(r.main, 0)} %`);
  }
  console.log('');

  if (arg('only') === 'throughput') {
    const jsonOut = arg('json');
    if (jsonOut) writeFileSync(jsonOut, JSON.stringify(out, null, 2));
    return;
  }
  const cases = [
    ['raw 1280x720 @ 60 fps', { width: 1280, height: 720, fps: 60, video: 'raw' }],
    ['jpeg 640x480 @ 30 fps', { width: 640, height: 480, fps: 30, video: 'jpeg' }],
  ];
  let n = 2;
  for (const [label, o] of cases) {
    console.log(`${n++}. ${label}: fast client's latency while another client stops reading; server RSS growth`);
    for (const mode of ['senseflow', 'seed']) {
      const r = await slowClient(mode, secs, o);
      out[`slow.${label}.${mode}`] = r;
      const w = (x) => `${f(x.fps)} fps p50 ${f(x.p50)} p99 ${f(x.p99)} ms`;
      console.log(`   ${mode.padEnd(10)} fast client before: ${w(r.before)} | while the other stalls: ${w(r.during)} | server RSS ${r.rssGrowthMB >= 0 ? '+' : ''}${f(r.rssGrowthMB)} MB`);
      console.log(`   ${''.padEnd(10)} after it resumes: fast ${w(r.late)} | the resumed client ${w(r.slowAfter)}`);
    }
    console.log('');
  }
  const jsonOut = arg('json');
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(out, null, 2));
}

if (isMainThread && process.argv[1] === SELF) {
  if (arg('role') === 'server') await serverRole();
  else {
    await main();
    console.log(`load average after: ${loadAverage()}`);
    process.exit(0);
  }
}
