/**
 * `senseflow devices [--json]`: cameras and audio inputs with their description strings and modes.
 */
import { parseFlags } from '../args.js';
import { errorLine } from '../format.js';
import { loadAudio, loadNats, loadVideo, type AudioDeviceLike, type CameraLike, type RemoteStreamLike } from '../modules.js';
import type { Out } from '../progress.js';

export const DEVICES_HELP = `senseflow devices [--json] [--nats URL [--token T]]

Lists cameras (V4L2) and audio inputs (ALSA devices, sound-server sources) with one-line
descriptions of what each can do. With --nats, also the streams published on that NATS server.

  --json       machine-readable output: { cameras: [...], audio: [...], remote: [...], notes: [...] }
  --nats URL   a NATS server (nats://host:port) to list live published streams from
  --token T    its token (or SENSEFLOW_NATS_TOKEN)
`;

export interface DevicesReport {
  cameras: CameraLike[];
  audio: AudioDeviceLike[];
  /** Streams published on a NATS server (with --nats). */
  remote?: RemoteStreamLike[];
  /** Why a list may be empty or partial (no /dev/video*, ALSA addon missing, …). */
  notes: string[];
}

export async function listDevices(): Promise<DevicesReport> {
  const notes: string[] = [];
  let cameras: CameraLike[] = [];
  let audio: AudioDeviceLike[] = [];
  const v = await loadVideo();
  if (!v.mod?.listCameras) notes.push(v.error ?? 'camera listing is not available in this build of @senseflow/source-video');
  else {
    try {
      cameras = v.mod.listCameras();
      if (cameras.length === 0) notes.push((v.mod.videoNodes?.() ?? []).length ? 'video nodes exist but none is a capture device' : 'no /dev/video* found');
    } catch (e) {
      notes.push(`listing cameras failed: ${errorLine(e)}`);
    }
  }
  const a = await loadAudio();
  if (!a.mod?.listAudioDevices) notes.push(a.error ?? 'audio listing is not available in this build of @senseflow/source-audio');
  else {
    try {
      audio = await a.mod.listAudioDevices();
      if (audio.length === 0) notes.push('no audio inputs found (no sound card, no sound server)');
    } catch (e) {
      notes.push(`listing audio inputs failed: ${errorLine(e)}`);
    }
  }
  return { cameras, audio, notes };
}

export async function devicesCommand(o: Out, argv: string[]): Promise<number> {
  const { values } = parseFlags('devices', argv, {
    json: { type: 'boolean' },
    nats: { type: 'string' },
    token: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    o.out(DEVICES_HELP);
    return 0;
  }
  const r = await listDevices();
  if (typeof values.nats === 'string') {
    const n = await loadNats();
    if (!n.mod) r.notes.push(n.error);
    else {
      // A bad URL or an unreachable server is this command's error (exit code from its typed error).
      const token = (values.token as string | undefined) ?? process.env.SENSEFLOW_NATS_TOKEN;
      r.remote = await n.mod.listRemoteStreams({ servers: values.nats, ...(token ? { token } : {}) });
      if (r.remote.length === 0) r.notes.push(`no streams are published on ${values.nats}`);
    }
  }
  if (values.json) {
    o.out(JSON.stringify(r, null, 2) + '\n');
    return 0;
  }
  o.out(`Cameras (${r.cameras.length}):\n`);
  for (const c of r.cameras) {
    o.out(`  ${c.path}  ${c.card} (${c.driver})  id: ${c.id}\n`);
    for (const d of c.descriptions) o.out(`      ${d}\n`);
  }
  if (r.cameras.length === 0) o.out('  none\n');
  o.out(`Audio inputs (${r.audio.length}):\n`);
  for (const d of r.audio) {
    o.out(`  ${d.description}\n`);
    for (const n of d.notes) o.out(`      note: ${n}\n`);
  }
  if (r.audio.length === 0) o.out('  none\n');
  if (r.remote) {
    o.out(`Remote streams on NATS (${r.remote.length}):\n`);
    for (const s of r.remote) o.out(`  ${s.subject}  ${s.spec.description ?? s.spec.kind}  (clock ${s.clock})\n`);
  }
  for (const n of r.notes) o.out(`note: ${n}\n`);
  o.out(`Test sources are always available: --video test (moving pattern), --audio test (440 Hz tone).\n`);
  return 0;
}
