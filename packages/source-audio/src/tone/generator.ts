/**
 * Tone generator math: a sine (or a linear chirp) with continuous phase across chunks, written straight
 * into interleaved sample memory of any format.
 */
import type { SampleArray, SampleFormat } from '@senseflow/core';

export interface ToneShape {
  /** Hz (the start frequency of a chirp). */
  frequency: number;
  /** End frequency of a linear chirp over `chirpSeconds` (repeats), or undefined for a steady sine. */
  chirpTo?: number;
  chirpSeconds: number;
  /** Peak amplitude in dBFS (≤ 0). */
  levelDb: number;
}

const FULL: Record<SampleFormat, number> = { s16le: 32767, s32le: 2147483647, f32le: 1 };

/** Stateless: the sample value at frame index `n` depends only on n, so chunks join without clicks. */
export function fillTone(out: SampleArray, channels: number, rate: number, format: SampleFormat, shape: ToneShape, startFrame: number): void {
  const amp = FULL[format] * 10 ** (shape.levelDb / 20);
  const frames = out.length / channels;
  const f0 = shape.frequency;
  const chirpFrames = Math.max(1, Math.round(shape.chirpSeconds * rate));
  const k = shape.chirpTo === undefined ? 0 : (shape.chirpTo - f0) / shape.chirpSeconds; // Hz per second
  const round = format !== 'f32le';
  for (let i = 0; i < frames; i++) {
    const n = startFrame + i;
    let phase: number;
    if (k === 0) {
      phase = (2 * Math.PI * f0 * (n % rate)) / rate; // n mod rate keeps the argument small (exact for integer f0)
    } else {
      const t = (n % chirpFrames) / rate;
      phase = 2 * Math.PI * (f0 * t + 0.5 * k * t * t);
    }
    const v = amp * Math.sin(phase);
    const s = round ? Math.round(v) : v;
    for (let c = 0; c < channels; c++) out[i * channels + c] = s;
  }
}
