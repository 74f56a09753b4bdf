/**
 * `ffmpeg` video source: one long-lived ffmpeg process per source (spawned from the source's worker) turns a
 * file, an HTTP/RTSP stream, an X11 screen or another OS's camera into raw frames (or JPEG images) on a
 * pipe, which is read straight into the ring's slots. Runs in its worker.
 *
 * Capture times are receive times (ffmpeg does not hand over a capture clock through a pipe): every frame
 * is flagged TIMESTAMP_FALLBACK. Live inputs that fail mid-stream are reported (`disconnected`) and ffmpeg
 * is restarted with backoff; a file that ends emits the custom event `ended`.
 */
import { existsSync } from 'node:fs';
import { DeviceNotFoundError, ItemFlags, defineSource, type FrameSourceContext, type WritableSlot } from '@senseflow/core';
import { JpegAssembler, RawAssembler, type FrameAssembler, type FrameSlots } from './assembler.js';
import { ffmpegFailure, ffmpegMissing } from './errors.js';
import { parseFfmpegOptions, type FfmpegOptions } from './options.js';
import { needsProbe, planFfmpeg, type FfmpegPlan } from './plan.js';
import { ffmpegVersion, probeInput } from './probe.js';
import { FfmpegProcess, type FfmpegExit } from './process.js';

export { parseFfmpegOptions, type FfmpegOptions };

/** How long start() waits for ffmpeg's first bytes before it resolves anyway (slow network streams). */
const FIRST_DATA_WAIT_MS = 5000;
const MIN_RECONNECT_DELAY_MS = 250;

// describe() makes the plan, open() uses it: the host passes the same options object to both.
const plans = new WeakMap<FfmpegOptions, FfmpegPlan>();

const isPlainPath = (o: FfmpegOptions) => !o.format && !/^[a-z][a-z0-9+.-]*:/i.test(o.input);

export default defineSource<FfmpegOptions>({
  name: 'ffmpeg',
  options: parseFfmpegOptions,
  async describe(o) {
    if (isPlainPath(o) && !existsSync(o.input)) throw new DeviceNotFoundError(`no such file: '${o.input}'`, { input: o.input });
    const version = await ffmpegVersion(o.ffmpegPath);
    const probe = needsProbe(o) ? await probeInput(o) : null;
    const plan = planFfmpeg(o, probe, version);
    plans.set(o, plan);
    return {
      kind: 'video',
      width: plan.width,
      height: plan.height,
      pixelFormat: plan.pixelFormat,
      stride: plan.stride,
      fps: plan.fps,
      ring: { slots: o.slots, slotBytes: plan.slotBytes },
      description: `[ffmpeg] ${o.format ? `${o.format} ` : ''}${o.input} ${plan.width}x${plan.height}@${Math.round(plan.fps * 100) / 100}fps, ${plan.pixelFormat}${plan.passthrough ? ' (passthrough)' : ''}`,
      deviceId: `ffmpeg:${o.format ?? ''}:${o.input}`,
      notes: plan.notes,
    };
  },
  open(c, o) {
    const ctx = c as FrameSourceContext;
    const plan = plans.get(o) ?? planFfmpeg(o, null);
    const log = ctx.log.child({ component: 'ffmpeg' });
    let proc: FfmpegProcess | null = null;
    let wanted = false;
    // While start() waits for the first bytes, a failure is start()'s to report (as its rejection).
    let starting = false;
    let connected = true;
    let attempt = 0;
    let retryTimer: NodeJS.Timeout | null = null;
    let frames = 0;

    // The ring, as the assemblers see it. Frames are stamped when their last byte is read.
    let open: WritableSlot | null = null;
    const slots: FrameSlots = {
      begin() {
        open = ctx.frames.begin();
        return open ? open.data : null;
      },
      commit(byteLength) {
        const slot = open!;
        open = null;
        slot.flags = ItemFlags.KEY | ItemFlags.TIMESTAMP_FALLBACK;
        const now = ctx.clock.now();
        ctx.frames.commit(slot, byteLength, now, now);
        frames++;
        if (!connected) {
          connected = true;
          attempt = 0;
          ctx.reconnected({ input: o.input });
        }
      },
      abort() {
        if (open) ctx.frames.abort(open);
        open = null;
      },
      drop(count, why) {
        ctx.frames.reportDrop('driver', count);
        log.warn({ count, why }, 'ffmpeg frames lost');
      },
    };

    /** Spawns ffmpeg; resolves at its first bytes, or rejects with a typed error if it dies first. */
    function launch(): { proc: FfmpegProcess; firstData: Promise<void> } {
      const assembler: FrameAssembler = plan.frameBytes === null ? new JpegAssembler(slots) : new RawAssembler(slots, plan.frameBytes);
      let gotData!: () => void;
      const firstData = new Promise<void>((r) => (gotData = r));
      const p = new FfmpegProcess(o.ffmpegPath, plan.args, o.transport, assembler, log, () => gotData());
      proc = p;
      void p.exited.then((exit) => onExit(p, exit));
      const failed = p.exited.then((exit) => {
        if (!exit.requested) throw failure(p, exit);
      });
      return { proc: p, firstData: Promise.race([firstData, failed]) };
    }

    function failure(p: FfmpegProcess, exit: FfmpegExit) {
      if (exit.spawnError) return ffmpegMissing(o.ffmpegPath, exit.spawnError);
      return ffmpegFailure('ffmpeg', o.input, p.stderrTail(), exit.text);
    }

    function onExit(p: FfmpegProcess, exit: FfmpegExit): void {
      if (proc !== p) return;
      proc = null;
      if (exit.requested || !wanted || starting) return;
      if (o.live && o.reconnect && !exit.spawnError) {
        if (connected) {
          connected = false;
          ctx.disconnected(`ffmpeg stopped (${exit.text}): ${p.stderrTail().slice(-3).join(' | ') || 'no message'}`, { input: o.input, exit: exit.text });
        }
        const delay = Math.min(o.maxReconnectDelayMs, MIN_RECONNECT_DELAY_MS * 2 ** Math.min(attempt, 16));
        attempt++;
        log.info({ delay, attempt }, 'restarting ffmpeg');
        retryTimer = setTimeout(() => {
          retryTimer = null;
          if (wanted && !proc) launch().firstData.catch((e) => log.debug({ err: e }, 'ffmpeg restart failed'));
        }, delay);
        return;
      }
      if (exit.code === 0) {
        // A file played to its end (or a live input without `reconnect` ended cleanly).
        log.info({ frames }, 'input ended');
        ctx.emit('ended', { input: o.input, frames });
        return;
      }
      ctx.error(failure(p, exit));
    }

    async function halt(): Promise<void> {
      wanted = false;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = null;
      const p = proc;
      proc = null;
      if (p) await p.stop();
      connected = true;
      attempt = 0;
    }

    return {
      async start() {
        wanted = true;
        starting = true;
        frames = 0;
        const { proc: p, firstData } = launch();
        let timer: NodeJS.Timeout | undefined;
        const waited = new Promise<void>((r) => (timer = setTimeout(r, FIRST_DATA_WAIT_MS)));
        try {
          await Promise.race([firstData, waited]);
        } catch (e) {
          wanted = false;
          throw e;
        } finally {
          starting = false;
          clearTimeout(timer);
        }
        log.debug({ pid: p.pid, readMode: p.readMode }, 'ffmpeg streaming');
      },
      stop: halt,
      close: halt,
    };
  },
});
