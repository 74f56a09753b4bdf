/**
 * The ALSA capture source (runs in its own worker): microphones, line inputs, any ALSA PCM, and with
 * `loopback: true` what the computer plays. Open it from the main thread with `openMicrophone()`.
 */
import { InvalidStateError, defineSource, type AudioSpec } from '@senseflow/core';
import { CaptureLoop } from './capture-loop.js';
import { loopbackServerError, resolveLoopback } from './loopback.js';
import { parseAlsaOptions, type AlsaOptions } from './options.js';
import { CapturePcm, type PcmParams } from './pcm.js';

function ringChunks(capacityFrames: number, periodFrames: number): number {
  // Every sample in the ring needs its chunk record; reads can come up short, so keep twice the periods.
  return Math.ceil(capacityFrames / periodFrames) * 2 + 64;
}

export const alsaSource = defineSource<AlsaOptions>({
  name: 'alsa',
  options: parseAlsaOptions,

  async describe(o): Promise<AudioSpec> {
    const notes: string[] = [];
    let device = o.device;
    if (o.loopback) {
      const t = await resolveLoopback();
      device = t.device;
      notes.push(t.sink ? `loopback: monitor of the default sink '${t.sink}'` : 'loopback: monitor of the default sink (pactl not found)');
    }
    const capacityFrames = Math.round(o.bufferSecs * o.rate);
    return {
      kind: 'audio',
      rate: o.rate,
      channels: o.channels,
      format: o.format,
      periodFrames: o.periodFrames,
      ring: { capacityFrames, chunks: ringChunks(capacityFrames, o.periodFrames) },
      deviceId: device,
      description: `[alsa] ${device} — ${o.rate} Hz, ${o.channels} ch, ${o.format}`,
      notes,
    };
  },

  open(ctx, o, spec) {
    if (ctx.kind !== 'audio') throw new InvalidStateError('the alsa source needs an audio (sample) ring');
    const params: PcmParams = {
      device: spec.deviceId ?? o.device,
      rate: o.rate,
      channels: o.channels,
      format: o.format,
      periodFrames: o.periodFrames,
      bufferFrames: Math.max(2 * o.periodFrames, Math.round((o.deviceBufferMs * o.rate) / 1000)),
    };
    const openPcm = () => {
      try {
        return CapturePcm.open(params);
      } catch (e) {
        if (o.loopback && (e as { details?: { errno?: string } }).details?.errno === 'ECONNREFUSED') throw loopbackServerError(String((e as Error).message));
        throw e;
      }
    };
    const pcm = openPcm();
    ctx.log.info({ device: params.device, negotiated: pcm.info }, 'ALSA capture opened');
    const loop = new CaptureLoop(pcm, {
      writer: ctx.samples,
      mailbox: ctx.mailbox,
      log: ctx.log,
      reopen: openPcm,
      disconnected: (reason, details) => ctx.disconnected(reason, details),
      reconnected: (details) => ctx.reconnected(details),
      reconnectMs: o.reconnectMs,
      debugStallMs: o.debugStallMs,
      debugSliceMs: o.debugSliceMs,
    });
    ctx.signal.addEventListener('abort', () => void loop.stop(), { once: true });
    return {
      start: () => loop.start(),
      stop: () => loop.stop(),
      close: () => loop.close(),
    };
  },
});

export default alsaSource;
