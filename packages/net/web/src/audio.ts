/**
 * An audio stream's panel: waveform, level meter (RMS/peak dBFS) and a scrolling spectrogram. The spectrum
 * is the browser's own (Web Audio AnalyserNode): received chunks are scheduled into a muted audio graph at
 * the stream's rate, and each animation frame reads the analyser's newest FFT.
 */
import type { Message } from '../../src/codec';

const FFT_N = 1024;
/** Scheduling lead: chunks play this far ahead of the audio clock; past 4× this they are re-anchored. */
const LEAD_S = 0.05;

export class AudioPanel {
  readonly el: HTMLElement;
  chunks = 0;
  columns = 0;
  private readonly ring: Float32Array;
  private written = 0;
  private readonly wave: HTMLCanvasElement;
  private readonly spec: HTMLCanvasElement;
  private readonly bar: HTMLElement;
  private readonly meta: HTMLElement;
  private readonly bins = new Float32Array(FFT_N / 2);
  private readonly frame = new Float32Array(FFT_N);
  private readonly ctx: AudioContext;
  private readonly analyser: AnalyserNode;
  private nextTime = 0;
  /** Frequency (Hz) of the loudest bin in the newest spectrum (read by the end-to-end test). */
  peakHz = 0;

  constructor(readonly name: string, private readonly rate: number, private readonly channels: number) {
    this.ring = new Float32Array(Math.max(FFT_N, rate)); // one second of the first channel
    this.el = document.createElement('div');
    this.el.className = 'panel';
    this.el.dataset.testid = `audio-${name}`;
    const h = document.createElement('h2');
    h.textContent = `${name} — ${rate} Hz × ${channels}`;
    this.wave = canvas(512, 100);
    this.spec = canvas(512, 160);
    const meter = document.createElement('div');
    meter.className = 'meter';
    this.bar = document.createElement('div');
    meter.append(this.bar);
    this.meta = document.createElement('div');
    this.meta.className = 'meta';
    this.meta.dataset.testid = `audio-meta-${name}`;
    this.el.append(h, this.wave, meter, this.spec, this.meta);
    this.ctx = new AudioContext({ sampleRate: rate });
    this.analyser = new AnalyserNode(this.ctx, { fftSize: FFT_N, smoothingTimeConstant: 0 });
    // Muted: the graph runs so the analyser sees the samples, but nothing is played.
    this.analyser.connect(new GainNode(this.ctx, { gain: 0 })).connect(this.ctx.destination);
  }

  /** The audio clock only runs after a user gesture unless the browser allows autoplay. */
  get suspended(): boolean {
    return this.ctx.state !== 'running';
  }

  resume(): void {
    void this.ctx.resume();
  }

  close(): void {
    void this.ctx.close();
  }

  /** Appends the chunk's first channel, scaled to [-1, 1]. */
  push(m: Message): void {
    const frames = m.f0;
    const fmt = m.f3;
    const p = m.payload;
    const src = fmt === 1 ? new Int16Array(p.buffer, p.byteOffset, frames * this.channels) : fmt === 2 ? new Int32Array(p.buffer, p.byteOffset, frames * this.channels) : new Float32Array(p.buffer, p.byteOffset, frames * this.channels);
    const scale = fmt === 1 ? 1 / 32768 : fmt === 2 ? 1 / 2147483648 : 1;
    const buf = new AudioBuffer({ length: frames, numberOfChannels: 1, sampleRate: this.rate });
    const mono = buf.getChannelData(0);
    for (let i = 0; i < frames; i++) {
      const v = src[i * this.channels] * scale;
      mono[i] = v;
      this.ring[(this.written + i) % this.ring.length] = v;
    }
    this.written += frames;
    this.chunks++;
    if (this.ctx.state !== 'running') return;
    // The sender's clock and the audio device's drift apart: re-anchor when the schedule falls behind or runs far ahead.
    const now = this.ctx.currentTime;
    if (this.nextTime < now || this.nextTime > now + 4 * LEAD_S) this.nextTime = now + LEAD_S;
    const node = new AudioBufferSourceNode(this.ctx, { buffer: buf });
    node.connect(this.analyser);
    node.start(this.nextTime);
    this.nextTime += frames / this.rate;
  }

  /** Redraws (once per animation frame). */
  draw(): void {
    if (this.written < FFT_N) return;
    const n = this.ring.length;
    for (let i = 0; i < FFT_N; i++) this.frame[i] = this.ring[(this.written - FFT_N + i) % n];
    // Waveform of the newest 1024 samples.
    const w = this.wave.getContext('2d')!;
    w.fillStyle = '#000';
    w.fillRect(0, 0, this.wave.width, this.wave.height);
    w.strokeStyle = '#6cf';
    w.beginPath();
    for (let x = 0; x < this.wave.width; x++) {
      const v = this.frame[Math.floor((x * FFT_N) / this.wave.width)];
      const y = (1 - v) * 0.5 * this.wave.height;
      if (x) w.lineTo(x, y);
      else w.moveTo(x, y);
    }
    w.stroke();
    // Level over the last 100 ms.
    const k = Math.min(n, Math.round(this.rate / 10));
    let sum = 0;
    let peak = 0;
    for (let i = 0; i < k; i++) {
      const v = this.ring[(this.written - k + i + n) % n];
      sum += v * v;
      peak = Math.max(peak, Math.abs(v));
    }
    const rmsDb = 10 * Math.log10(sum / k + 1e-12);
    const peakDb = 20 * Math.log10(peak + 1e-12);
    this.bar.style.width = `${Math.max(0, Math.min(100, ((rmsDb + 60) / 60) * 100))}%`;
    this.meta.textContent = `rms ${rmsDb.toFixed(1)} dBFS  peak ${peakDb.toFixed(1)} dBFS  chunks ${this.chunks}`;
    if (this.suspended) {
      this.meta.textContent += '  (click the page to start the spectrogram)';
      return;
    }
    // Spectrogram: shift left one pixel, draw the newest column on the right.
    this.analyser.getFloatFrequencyData(this.bins);
    let top = 0;
    for (let b = 1; b < this.bins.length; b++) if (this.bins[b] > this.bins[top]) top = b;
    this.peakHz = (top * this.rate) / FFT_N;
    const s = this.spec.getContext('2d')!;
    const H = this.spec.height;
    s.drawImage(this.spec, -1, 0);
    const col = s.createImageData(1, H);
    for (let y = 0; y < H; y++) {
      const bin = Math.floor(((H - 1 - y) / H) * this.bins.length);
      const t = Math.max(0, Math.min(1, (this.bins[bin] + 100) / 100));
      col.data.set(heat(t), y * 4);
    }
    s.putImageData(col, this.spec.width - 1, 0);
    this.columns++;
  }
}

function canvas(w: number, h: number): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  return c;
}

/** Black → blue → red → yellow → white. */
function heat(t: number): [number, number, number, number] {
  const r = Math.min(255, Math.max(0, 255 * (t * 3 - 1)));
  const g = Math.min(255, Math.max(0, 255 * (t * 3 - 2)));
  const b = Math.min(255, Math.max(0, 255 * (t < 0.33 ? t * 3 : 1 - (t - 0.33) * 3)));
  return [r, g, b, 255];
}
