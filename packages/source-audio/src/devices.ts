/**
 * Capture device discovery: ALSA hardware cards, ALSA plugin PCMs (name hints), and the sound server's
 * sources (monitors = "what the computer plays"). Each ALSA device is opened briefly, non-blocking, to
 * learn its ranges; a busy one is listed with a note instead.
 */
import { execFile } from 'node:child_process';
import { isNativeAlsaError, alsa, type NativeCaps } from './native.js';

export interface AudioDevice {
  /** What to pass as `device`: `hw:1,0`, `pulse`, `senseflow_file`, `pulse:alsa_output….monitor`. */
  id: string;
  name: string;
  /** Card id for hardware devices (`Loopback`, `USB`), else null. */
  card: string | null;
  /** One line for humans: `[USB Audio] hw:1,0 — 1–2 ch, 8000–48000 Hz, s16le/s32le`. */
  description: string;
  /** null when the device could not be opened to ask (busy, server down). */
  rates: { min: number; max: number } | null;
  channels: { min: number; max: number } | null;
  formats: string[];
  kind: 'hw' | 'plugin' | 'monitor';
  /** Why ranges are missing, or other remarks. */
  notes: string[];
}

export interface ListAudioDevicesOptions {
  /** Open each ALSA device briefly to read its ranges (default true). */
  probe?: boolean;
  /** Ask the PulseAudio/PipeWire server for its sources via `pactl` (default true). */
  soundServer?: boolean;
}

// Plugin PCMs that are not capture devices of their own (converters, output-only helpers).
const NOT_CAPTURE = /^(null|lavrate|samplerate|speexrate|speex|upmix|vdownmix|jack|oss|usbstream|a52|arcam_av|hw|plughw|dmix|surround\d*|iec958|hdmi|front|rear|center_lfe|side)(:|$)/;

function describe(label: string, id: string, caps: NativeCaps | null): string {
  if (!caps) return `[${label}] ${id}`;
  const ch = caps.channelsMin === caps.channelsMax ? `${caps.channelsMin}` : `${caps.channelsMin}–${Math.min(caps.channelsMax, 1024)}`;
  const hz = caps.rateMin === caps.rateMax ? `${caps.rateMin}` : `${caps.rateMin}–${Math.min(caps.rateMax, 1536000)}`;
  return `[${label}] ${id} — ${ch} ch, ${hz} Hz, ${caps.formats.join('/') || 'no s16le/s32le/f32le'}`;
}

function probe(id: string, notes: string[], enabled: boolean): NativeCaps | null {
  if (!enabled) return null;
  try {
    return alsa().probe(id);
  } catch (e) {
    if (isNativeAlsaError(e)) notes.push(e.errno === 'EBUSY' ? 'busy: in use by another program' : `not opened: ${e.errno}${e.alsaMessage ? ` (${e.alsaMessage.trim()})` : ''}`);
    else notes.push(`not opened: ${(e as Error).message}`);
    return null;
  }
}

function entry(id: string, name: string, card: string | null, kind: AudioDevice['kind'], label: string, caps: NativeCaps | null, notes: string[]): AudioDevice {
  return {
    id,
    name,
    card,
    description: describe(label, id, caps),
    rates: caps ? { min: caps.rateMin, max: caps.rateMax } : null,
    channels: caps ? { min: caps.channelsMin, max: caps.channelsMax } : null,
    formats: caps?.formats ?? [],
    kind,
    notes,
  };
}

interface PulseSource {
  name: string;
  description?: string;
  sample_specification?: string;
  monitor_source?: string;
  monitor_of_sink?: string;
}

function pactlSources(): Promise<PulseSource[]> {
  return new Promise((resolve) => {
    execFile('pactl', ['-f', 'json', 'list', 'sources'], { timeout: 3000, encoding: 'utf8', maxBuffer: 8 << 20 }, (err, stdout) => {
      if (err) return resolve([]);
      try {
        const parsed = JSON.parse(stdout) as PulseSource[];
        resolve(Array.isArray(parsed) ? parsed : []);
      } catch {
        resolve([]);
      }
    });
  });
}

function pulseEntry(s: PulseSource): AudioDevice {
  // sample_specification looks like "s16le 2ch 48000Hz": the server converts to any rate/format we ask.
  const m = /(\d+)ch\s+(\d+)Hz/.exec(s.sample_specification ?? '');
  const monitor = s.name.endsWith('.monitor');
  const id = `pulse:${s.name}`;
  const label = monitor ? 'monitor' : 'pulse';
  const extra = m ? ` (server side: ${m[1]} ch, ${m[2]} Hz)` : '';
  return {
    id,
    name: s.description ?? s.name,
    card: null,
    description: `[${label}] ${id} — ${s.description ?? s.name}${extra}`,
    rates: { min: 1, max: 384000 },
    channels: { min: 1, max: 32 },
    formats: ['s16le', 's32le', 'f32le'],
    kind: monitor ? 'monitor' : 'plugin',
    notes: monitor ? ['captures what is played to this sink (use loopback: true for the default sink)'] : [],
  };
}

/**
 * Lists capture devices: hardware (`hw:C,D`), ALSA plugin PCMs that can capture, and sound-server sources.
 *
 * @example
 * ```ts
 * for (const d of await listAudioDevices()) console.log(d.description);
 * // [Loopback] hw:0,1 — 1–32 ch, 8000–192000 Hz, s16le/s32le
 * ```
 */
export async function listAudioDevices(opts: ListAudioDevicesOptions = {}): Promise<AudioDevice[]> {
  const doProbe = opts.probe ?? true;
  const native = alsa();
  const out: AudioDevice[] = [];
  const pulseRunning = opts.soundServer ?? true ? pactlSources() : Promise.resolve([]);

  for (const card of native.cards()) {
    for (const d of card.devices) {
      const id = `hw:${card.card},${d.device}`;
      const notes: string[] = [];
      out.push(entry(id, `${card.name}: ${d.name}`, card.id, 'hw', card.name, probe(id, notes, doProbe), notes));
    }
  }

  const seen = new Set(out.map((d) => d.id));
  for (const h of native.nameHints()) {
    if (!h.name || h.ioid === 'Output' || NOT_CAPTURE.test(h.name) || seen.has(h.name)) continue;
    seen.add(h.name);
    const notes: string[] = [];
    const caps = probe(h.name, notes, doProbe);
    if (doProbe && !caps && !notes.some((n) => n.startsWith('busy'))) continue; // cannot capture here (server down, needs a slave…)
    const label = (h.description ?? h.name).split('\n')[0];
    out.push(entry(h.name, label, null, 'plugin', label, caps, notes));
  }

  for (const s of await pulseRunning) {
    const d = pulseEntry(s);
    if (!seen.has(d.id)) out.push(d);
  }
  return out;
}
