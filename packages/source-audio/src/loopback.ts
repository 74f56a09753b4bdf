/**
 * "What the computer plays": the sound server's monitor of the default sink, captured through the ALSA
 * `pulse` plugin (PulseAudio, or PipeWire's pulse server). `pactl` is asked once, at open, for the sink's
 * name (so the stream says what it records); capture itself never shells out.
 */
import { execFile } from 'node:child_process';
import { DeviceNotFoundError } from '@senseflow/core';

export interface LoopbackTarget {
  /** ALSA PCM to open, e.g. `pulse:alsa_output.pci-0000_00_1f.3.analog-stereo.monitor`. */
  device: string;
  /** The default sink's name, or null when pactl was not available (the server resolves `@DEFAULT_MONITOR@`). */
  sink: string | null;
}

const NO_SERVER_HELP =
  'Loopback capture records the monitor of the default sink of a PulseAudio or PipeWire (pipewire-pulse) sound server, ' +
  'and none answered. Possible solutions: start one (`pulseaudio --start`, or `systemctl --user start pipewire-pulse`), ' +
  'point PULSE_SERVER at a running one (e.g. unix:/run/user/1000/pulse/native), and install the ALSA pulse plugin ' +
  '(apt-get install libasound2-plugins pulseaudio-utils).';

function pactl(args: string[], timeoutMs: number): Promise<{ ok: boolean; out: string; missing: boolean }> {
  return new Promise((resolve) => {
    execFile('pactl', args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const missing = (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
      resolve({ ok: !err, out: err ? String(stderr || err.message).trim() : stdout.trim(), missing });
    });
  });
}

/** Finds the default sink's monitor. Throws DeviceNotFoundError (with what to do) when no server answers. */
export async function resolveLoopback(timeoutMs = 3000): Promise<LoopbackTarget> {
  let r = await pactl(['get-default-sink'], timeoutMs);
  if (r.missing) return { device: 'pulse:@DEFAULT_MONITOR@', sink: null };
  if (!r.ok && /unknown command|invalid/i.test(r.out)) {
    // pactl < 15 has no get-default-sink: read it from `pactl info`.
    r = await pactl(['info'], timeoutMs);
    const m = r.ok ? /^Default Sink:\s*(.+)$/m.exec(r.out) : null;
    if (m) return { device: `pulse:${m[1].trim()}.monitor`, sink: m[1].trim() };
  }
  if (!r.ok) throw new DeviceNotFoundError(`${NO_SERVER_HELP} (pactl: ${r.out})`, { loopback: true, pactl: r.out });
  if (!r.out || r.out === '@DEFAULT_SINK@') throw new DeviceNotFoundError(`the sound server has no default sink to monitor. ${NO_SERVER_HELP}`, { loopback: true });
  return { device: `pulse:${r.out}.monitor`, sink: r.out };
}

/** The message for a loopback open that failed with ECONNREFUSED and friends. */
export function loopbackServerError(detail: string): DeviceNotFoundError {
  return new DeviceNotFoundError(`${NO_SERVER_HELP} (${detail})`, { loopback: true });
}
