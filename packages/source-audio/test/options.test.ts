import { InvalidOptionError, SenseflowError } from '@senseflow/core';
import { parseAlsaOptions } from '@senseflow/source-audio';
import { describe, expect, it } from 'vitest';

function rejects(raw: unknown): InvalidOptionError {
  try {
    parseAlsaOptions(raw);
  } catch (e) {
    expect(SenseflowError.isInstance(e)).toBe(true);
    expect(e).toBeInstanceOf(InvalidOptionError);
    return e as InvalidOptionError;
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
}

describe('alsa source options', () => {
  it('fills documented defaults', () => {
    expect(parseAlsaOptions(undefined)).toEqual({
      device: 'default',
      loopback: false,
      rate: 48000,
      channels: 2,
      format: 's16le',
      periodFrames: 480,
      deviceBufferMs: 200,
      bufferSecs: 10,
      reconnectMs: 500,
      debugStallMs: 0,
      debugSliceMs: 0,
    });
    expect(parseAlsaOptions({ rate: 16000 }).periodFrames).toBe(160);
  });

  it('names the parameter and lists the choices for a bad format', () => {
    const e = rejects({ format: 's24le' });
    expect(e.code).toBe('EINVAL');
    expect(e.parameter).toBe('format');
    expect(e.message).toContain('one of s16le, s32le, f32le');
    expect(e.message).toContain("'s24le'");
    expect(e.details?.choices).toEqual(['s16le', 's32le', 'f32le']);
  });

  it('rejects out-of-range numbers with the range', () => {
    expect(rejects({ rate: 44100.5 }).parameter).toBe('rate');
    expect(rejects({ rate: 1000 }).message).toContain('from 8000 to 384000');
    expect(rejects({ channels: 0 }).parameter).toBe('channels');
    expect(rejects({ periodFrames: 8 }).parameter).toBe('periodFrames');
    expect(rejects({ bufferSecs: 0 }).parameter).toBe('bufferSecs');
    expect(rejects({ device: '' }).parameter).toBe('device');
    expect(rejects({ loopback: 'yes' }).parameter).toBe('loopback');
  });

  it('rejects unknown options, listing the known ones', () => {
    const e = rejects({ samplerate: 48000 });
    expect(e.parameter).toBe('samplerate');
    expect(e.message).toContain('periodFrames');
  });

  it('checks options against each other', () => {
    expect(rejects({ periodFrames: 4800, deviceBufferMs: 150 }).parameter).toBe('deviceBufferMs');
    expect(rejects({ periodFrames: 48000, deviceBufferMs: 2000, bufferSecs: 2 }).parameter).toBe('bufferSecs');
    const both = rejects({ loopback: true, device: 'hw:0' });
    expect(both.parameter).toBe('device');
    expect(both.message).toContain('loopback');
  });
});
