/**
 * The senseflow live dashboard: connects to the serving process's WebSocket (`/ws`, same origin), asks for
 * every stream with JPEG video, and draws video, audio (waveform, level, spectrogram), records (CPU and
 * memory charts) and per-stream rate / latency / drop counters. Token: `?token=…` in the page URL.
 */
import './style.css';
import { AudioPanel } from './audio';
import { RollingChart } from './chart';
import { VideoPanel } from './video';
import { Acker, decodeMessage, emptyMessage, HEADER_BYTES, jsonMessage, MsgType, parseJson, type AckCadence, type Message } from '../../src/codec';

interface StreamInfo {
  id: number;
  name: string;
  kind: 'video' | 'audio' | 'records';
  spec: { width?: number; height?: number; rate?: number; channels?: number; fields?: { name: string; unit: string }[] };
}

const status = document.getElementById('status')!;
const streamsEl = document.getElementById('streams')!;
const tbody = document.querySelector('#stats tbody')!;
const cpu = new RollingChart(document.getElementById('cpu-chart')!);
const mem = new RollingChart(document.getElementById('mem-chart')!);
const t0 = performance.now();
const now = () => (performance.now() - t0) / 1000;

/** Largest message the page accepts (a raw 4K frame fits; the page asks for JPEG anyway). */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

let streams = new Map<number, StreamInfo>();
const video = new Map<number, VideoPanel>();
const audio = new Map<number, AudioPanel>();
const pageLatency = new Map<number, number[]>();
/** Server monotonic ms ≈ Date.now() − offset; the smallest offset seen has the least transfer delay in it. */
let clockOffsetMs = Number.POSITIVE_INFINITY;
let statsCount = 0;

// What the end-to-end test reads.
const probe = {
  get videoFrames() {
    return [...video.values()].reduce((n, v) => n + v.frames, 0);
  },
  get audioChunks() {
    return [...audio.values()].reduce((n, a) => n + a.chunks, 0);
  },
  get spectrogramColumns() {
    return [...audio.values()].reduce((n, a) => n + a.columns, 0);
  },
  get chartPoints() {
    return cpu.points + mem.points;
  },
  get stats() {
    return statsCount;
  },
  /** Per audio stream: the loudest frequency in the newest spectrum (Hz). */
  get peakHz() {
    return Object.fromEntries([...audio.values()].map((a) => [a.name, a.peakHz]));
  },
  /** Each chart's y range: finite numbers mean it really plots something. */
  get chartRanges() {
    return { cpu: cpu.yRange(), mem: mem.yRange() };
  },
};
(window as unknown as { senseflow: typeof probe }).senseflow = probe;

function latencyOf(id: number) {
  return (captureNs: bigint) => {
    if (!Number.isFinite(clockOffsetMs)) return;
    const ms = Date.now() - clockOffsetMs - Number(captureNs) / 1e6;
    const arr = pageLatency.get(id) ?? [];
    arr.push(ms);
    if (arr.length > 256) arr.shift();
    pageLatency.set(id, arr);
  };
}

function onStreams(body: Record<string, unknown>): void {
  streams = new Map((body.streams as StreamInfo[]).map((s) => [s.id, s]));
  streamsEl.replaceChildren();
  video.clear();
  for (const a of audio.values()) a.close();
  audio.clear();
  for (const s of streams.values()) {
    if (s.kind === 'video') {
      const p = new VideoPanel(s.name, s.spec.width ?? 640, s.spec.height ?? 480, latencyOf(s.id));
      video.set(s.id, p);
      streamsEl.append(p.el);
    } else if (s.kind === 'audio') {
      const p = new AudioPanel(s.name, s.spec.rate ?? 48000, s.spec.channels ?? 1);
      audio.set(s.id, p);
      streamsEl.append(p.el);
    }
  }
}

function onRecords(m: Message): void {
  const s = streams.get(m.stream);
  if (!s?.spec.fields) return;
  const values = new Float64Array(m.payload.buffer, m.payload.byteOffset, m.f0);
  const cpuVals: Record<string, number> = {};
  const memVals: Record<string, number> = {};
  s.spec.fields.forEach((f, i) => {
    if (f.unit === '%' && f.name.startsWith('cpu') && Object.keys(cpuVals).length < 6) cpuVals[f.name] = values[i];
    if (f.unit === 'bytes' && /^mem\.(used|available)$/.test(f.name)) memVals[f.name] = values[i] / 2 ** 20;
  });
  if (Object.keys(cpuVals).length) cpu.add(now(), cpuVals);
  if (Object.keys(memVals).length) mem.add(now(), memVals);
  latencyOf(m.stream)(m.captureNs);
}

const fmt = (v: unknown, d = 1) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '–');
const sumDrops = (d: unknown) => (d && typeof d === 'object' ? Object.values(d as Record<string, number>).reduce((a, b) => a + b, 0) : 0);

function onStats(body: Record<string, unknown>): void {
  statsCount++;
  const mono = Number(body.monoNs) / 1e6;
  if (Number.isFinite(mono)) clockOffsetMs = Math.min(clockOffsetMs, Date.now() - mono);
  const server = body.server as { rssBytes: number };
  mem.add(now(), { 'server rss': server.rssBytes / 2 ** 20 });
  const conn = (body.connection as { streams: Record<string, { dropped: number }> }).streams;
  const rows: string[] = [];
  for (const [name, st] of Object.entries(body.streams as Record<string, Record<string, unknown>>)) {
    const id = st.id as number;
    const lat = [...(pageLatency.get(id) ?? [])].sort((a, b) => a - b);
    pageLatency.set(id, []);
    const p50 = lat.length ? lat[Math.floor(lat.length / 2)] : NaN;
    const sl = st.latencyMs as { p50: number; p99: number } | null;
    const jpeg = st.jpeg as { skipped: number };
    rows.push(
      `<tr data-stream="${name}"><td>${name}</td><td>${String(st.kind)}</td><td>${fmt(st.rate)}</td><td>${fmt(p50)}</td><td>${sl ? `${fmt(sl.p50)}/${fmt(sl.p99)}` : '–'}</td><td>${sumDrops(st.drops)}</td><td>${conn[name]?.dropped ?? 0}</td><td>${jpeg?.skipped ?? 0}</td></tr>`,
    );
  }
  tbody.innerHTML = rows.join('');
}

function connect(): void {
  const token = new URLSearchParams(location.search).get('token') ?? undefined;
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  ws.binaryType = 'arraybuffer';
  let ping: number | undefined;
  // Flow control: acknowledge what the page consumed, so a slow link still shows fresh frames.
  let acker: Acker | null = null;
  let consumed = 0;
  ws.onopen = () => {
    ws.send(jsonMessage(MsgType.HELLO, { token, video: 'jpeg', ack: true }));
    ping = window.setInterval(() => ws.send(emptyMessage(MsgType.PING)), 15000);
  };
  ws.onmessage = (ev) => {
    const m = decodeMessage(ev.data as ArrayBuffer, MAX_MESSAGE_BYTES);
    consumed += HEADER_BYTES + m.payloadBytes;
    acker?.consume(HEADER_BYTES + m.payloadBytes);
    switch (m.type) {
      case MsgType.STREAMS: {
        status.textContent = 'live';
        status.className = 'ok';
        const body = parseJson(m);
        if (body.ack) {
          acker = new Acker((a) => ws.readyState === WebSocket.OPEN && ws.send(a), body.ack as AckCadence);
          acker.consume(consumed);
        }
        return onStreams(body);
      }
      case MsgType.VIDEO:
        return video.get(m.stream)?.push(m);
      case MsgType.AUDIO:
        audio.get(m.stream)?.push(m);
        return latencyOf(m.stream)(m.captureNs);
      case MsgType.RECORDS:
        return onRecords(m);
      case MsgType.STATS:
        return onStats(parseJson(m));
      case MsgType.ERROR: {
        const e = parseJson(m);
        status.textContent = `server: ${String(e.message)}`;
        status.className = 'bad';
        return;
      }
    }
  };
  ws.onclose = () => {
    clearInterval(ping);
    acker?.stop();
    if (status.className !== 'bad') {
      status.textContent = 'disconnected — retrying…';
      status.className = 'bad';
    }
    setTimeout(connect, 1000);
  };
}

function frame(): void {
  for (const a of audio.values()) a.draw();
  requestAnimationFrame(frame);
}

// Browsers start the audio clock (which the spectrogram needs) only after a user gesture, unless autoplay is allowed.
document.addEventListener('click', () => {
  for (const a of audio.values()) a.resume();
});
connect();
requestAnimationFrame(frame);
