/**
 * Closing a source ends every consumer of its ring: a file sink's worker finishes its files and ends by
 * itself (no stop() needed), with every item it read stored.
 */
import { describe, expect, it } from 'vitest';
import { openTone } from '@senseflow/source-audio';
import { openFileSink, type SinkSummary } from '@senseflow/sinks';
import { soxSeconds, requireTools, tempDir } from './file-helpers.js';

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${what} did not end within ${ms} ms`)), ms).unref())]);

describe('close cascade', () => {
  it('closing the source ends its file sink: the worker finalizes the WAV and reports done without stop()', async () => {
    const mic = await openTone({ rate: 16000, channels: 1 }, { autoStart: false });
    const sink = await openFileSink(mic, { dir: tempDir('cascade'), name: 'audio' });
    await mic.start();
    await new Promise((r) => setTimeout(r, 400));
    await mic.close();
    // `done` is the worker's final summary; it arrives only when the worker leaves its read loop.
    const summary = await within((sink as unknown as { done: Promise<SinkSummary> }).done, 5000, 'the file sink worker');
    expect(summary.items).toBeGreaterThan(0);
    expect(summary.frames).toBeGreaterThan(16000 * 0.2);
    expect(await sink.stop()).toEqual(summary);
    if (!requireTools('sox')) expect(soxSeconds(summary.file)).toBeCloseTo(summary.frames / 16000, 3);
  });
});
