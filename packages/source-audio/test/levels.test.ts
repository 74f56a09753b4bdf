import { createLevels, levels } from '@senseflow/source-audio';
import { describe, expect, it } from 'vitest';

const close = (a: number, b: number, tol = 0.01) => expect(Math.abs(a - b), `${a} vs ${b}`).toBeLessThan(tol);

describe('levels()', () => {
  it('full-scale square wave is 0 dBFS RMS and peak (s16le, one channel)', () => {
    const s = new Int16Array(1000).map((_, i) => (i % 2 ? 32767 : -32768));
    const out = levels(s, 1, 's16le');
    close(out.peakDb[0], 0);
    close(out.rmsDb[0], 0, 0.001);
  });

  it('a sine at half scale: peak −6.02 dB, RMS −9.03 dB, per channel (f32le stereo)', () => {
    const frames = 48000;
    const s = new Float32Array(frames * 2);
    for (let i = 0; i < frames; i++) {
      s[2 * i] = 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 48000);
      s[2 * i + 1] = 0.25 * Math.sin((2 * Math.PI * 1000 * i) / 48000);
    }
    const out = levels(s, 2, 'f32le');
    close(out.peakDb[0], -6.02);
    close(out.rmsDb[0], -9.03);
    close(out.peakDb[1], -12.04);
    close(out.rmsDb[1], -15.05);
  });

  it('s32le scale and digital silence', () => {
    const s = new Int32Array(64);
    for (let i = 0; i < 32; i++) s[2 * i] = 1 << 30; // left: constant half scale, right: silence
    const out = levels(s, 2, 's32le');
    close(out.rmsDb[0], -6.02);
    expect(out.rmsDb[1]).toBe(-Infinity);
    expect(out.peakDb[1]).toBe(-Infinity);
  });

  it('reuses the output object it is given', () => {
    const out = createLevels(2);
    const r = levels(new Int16Array([100, 200, -100, -200]), 2, 's16le', out);
    expect(r).toBe(out);
    close(out.peakDb[1], 20 * Math.log10(200 / 32768));
  });
});
