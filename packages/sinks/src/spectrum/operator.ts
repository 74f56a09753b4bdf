/**
 * The in-process form: an RxJS operator from audio chunks (`source.frames$`) to spectrum frames, computed
 * on the subscribing thread. Same frames as {@link spectrum} (windows at multiples of `hop` in the stream,
 * same calibration); use it in a worker of your own or for offline arrays, and `spectrum()` for live
 * sources on the main thread.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import { ItemFlags, type AudioChunk, type SampleArray } from '@senseflow/core';
import type { MagnitudeOptions } from '../fft/engine.js';
import { fftEngine } from '../fft/select.js';
import { makeWindow } from '../fft/window.js';
import { amplitudeGains, frequencyAxis } from './frame-math.js';
import { makeFrame, type FrameStatics, type SpectrumFrame } from './frame.js';
import { resolveSpectrumOptions, type SpectrumOptions } from './options.js';

/** The chunk fields the operator reads (a core AudioChunk has them all). */
export type AudioChunkLike = Pick<AudioChunk, 'startFrame' | 'frames' | 'channels' | 'rate' | 'format' | 'data' | 'captureNs' | 'flags'>;

export type SpectrumOperatorOptions = Omit<SpectrumOptions, 'from' | 'slots' | 'coalesceMs' | 'logger' | 'logLevel'>;

/**
 * @example
 * ```ts
 * source.frames$.pipe(toSpectrum({ size: 1024, hop: 512 }), map((f) => peaks(f, { count: 1 })[0]))
 * ```
 */
export function toSpectrum(options: SpectrumOperatorOptions = {}): OperatorFunction<AudioChunkLike, SpectrumFrame> {
  return (input) =>
    new Observable<SpectrumFrame>((sub) => {
      let run: ((c: AudioChunkLike) => void) | null = null;
      const setup = (first: AudioChunkLike) => {
        const o = resolveSpectrumOptions(options, { rate: first.rate, format: first.format, channels: first.channels, capacityFrames: 1 << 22 });
        const plan = fftEngine({ engine: o.engine }).plan(o.size);
        const window = o.window === 'rect' ? null : makeWindow(o.window, o.size);
        const g = amplitudeGains(window ?? makeWindow('rect', o.size), o.format);
        const mag: MagnitudeOptions = { window, kind: o.scale === 'db' ? 'db' : 'amplitude', gain: g.gain, edgeGain: g.edgeGain, floorDb: o.floorDb };
        const statics: FrameStatics = { size: o.size, hop: o.hop, rate: o.rate, channels: Object.freeze([...o.channels]), frequencies: frequencyAxis(o.size, o.rate) };
        const chans = Int32Array.from(o.channels);
        const ch = first.channels;
        const hop = BigInt(o.hop);
        const Ctor = first.data.constructor as new (n: number) => SampleArray;
        // Pending samples [accStart, accStart + accFrames), interleaved, plus each chunk's capture anchor.
        let acc = new Ctor((2 * o.size + 2 * first.frames) * ch);
        let accStart = first.startFrame;
        let accFrames = 0;
        let anchors: { start: bigint; captureNs: bigint }[] = [];
        let nextHop = (first.startFrame + hop - 1n) / hop;
        let flags = 0;
        return (c: AudioChunkLike) => {
          if (c.startFrame !== accStart + BigInt(accFrames) || c.flags & ItemFlags.DISCONTINUITY) {
            if (c.startFrame !== accStart + BigInt(accFrames)) {
              // Frames missing (or a restart): windows cannot span the gap, start over after it.
              accStart = c.startFrame;
              accFrames = 0;
              anchors = [];
              const h = (c.startFrame + hop - 1n) / hop;
              if (h > nextHop) nextHop = h;
            }
            flags |= ItemFlags.DISCONTINUITY;
          }
          if ((accFrames + c.frames) * ch > acc.length) {
            const bigger = new Ctor((accFrames + c.frames) * ch * 2);
            bigger.set(acc.subarray(0, accFrames * ch));
            acc = bigger;
          }
          acc.set(c.data.subarray(0, c.frames * ch), accFrames * ch);
          accFrames += c.frames;
          anchors.push({ start: c.startFrame, captureNs: c.captureNs });
          const end = accStart + BigInt(accFrames);
          while (nextHop * hop + BigInt(o.size) <= end) {
            const s = nextHop * hop;
            if (s < accStart) {
              nextHop = (accStart + hop - 1n) / hop;
              continue;
            }
            const mags = new Float32Array(chans.length * statics.frequencies.length);
            plan.ringBatch({ samples: acc, capacityFrames: acc.length / ch, channels: ch, chans, startPos: Number(s - accStart), hop: o.hop, count: 1 }, mags, mag);
            let anchor = anchors[0];
            for (const a of anchors) if (a.start <= s) anchor = a;
            const captureNs = anchor.captureNs + ((s - anchor.start) * 1_000_000_000n) / BigInt(o.rate);
            sub.next(makeFrame({ seq: nextHop, startFrame: s, captureNs, receiveNs: process.hrtime.bigint(), flags, scale: o.scale, magnitudes: mags }, statics));
            flags = 0;
            nextHop++;
          }
          // Drop samples no future window needs.
          const keepFrom = nextHop * hop;
          if (keepFrom > accStart) {
            const drop = Number(keepFrom - accStart < BigInt(accFrames) ? keepFrom - accStart : BigInt(accFrames));
            acc.copyWithin(0, drop * ch, accFrames * ch);
            accFrames -= drop;
            accStart += BigInt(drop);
            let i = 0;
            while (i + 1 < anchors.length && anchors[i + 1].start <= accStart) i++;
            if (i) anchors = anchors.slice(i);
          }
        };
      };
      return input.subscribe({
        next: (c) => {
          try {
            run ??= setup(c);
            run(c);
          } catch (e) {
            sub.error(e);
          }
        },
        error: (e) => sub.error(e),
        complete: () => sub.complete(),
      });
    });
}
