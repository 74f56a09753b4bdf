import { existsSync, mkdirSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Source } from '@senseflow/core';
import { openTestPattern } from '@senseflow/source-video';
import { openTone } from '@senseflow/source-audio';
import { serve, type NetServer } from '@senseflow/net';

// Real headless Chromium (apt: chromium) driven by playwright-core. Loopback only: QUIC, background
// networking, component updates and sync are off, and the profile is fresh.
const CHROMIUM = process.env.SENSEFLOW_CHROMIUM ?? '/usr/bin/chromium';
const missing = existsSync(CHROMIUM) ? null : `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set SENSEFLOW_CHROMIUM)`;
if (missing && process.env.CI) throw new Error(missing);
const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));

async function openSysStatsIfBuilt(): Promise<Source | null> {
  try {
    const m = (await import('@senseflow/source-sysstats')) as { openSysStats(o?: unknown): Promise<Source> };
    return await m.openSysStats({ hz: 4 });
  } catch {
    return null; // CPU chart then stays empty; memory still plots the server's RSS from STATS
  }
}

describe.skipIf(missing)(`dashboard in headless Chromium${missing ? ` — skipped: ${missing}` : ''}`, () => {
  const sources: Source[] = [];
  let server: NetServer;
  let profile: string;

  beforeAll(async () => {
    const cam = await openTestPattern({ width: 320, height: 240, fps: 20, pixelFormat: 'rgb24' });
    const mic = await openTone({ rate: 48000, channels: 1, chirpTo: 8000, chirpSeconds: 2 });
    sources.push(cam, mic);
    const stats = await openSysStatsIfBuilt();
    const named: Record<string, Source> = { cam, mic };
    if (stats) (named.stats = stats), sources.push(stats);
    server = await serve({ sources: named, port: 0, token: 'dash', statsIntervalMs: 250 });
    profile = mkdtempSync(join(tmpdir(), 'senseflow-chromium-'));
  });
  afterAll(async () => {
    await server?.close();
    for (const s of sources) await s.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('loads, shows advancing video, moving audio plots and charts, and saves a screenshot', async () => {
    const { chromium } = await import('playwright-core');
    // A fresh --user-data-dir (playwright passes `profile` as that flag).
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      // The page must be self-contained (no CDN): every request it makes goes to our loopback server.
      const origin = server.url.replace(/\/$/, '');
      const foreign: string[] = [];
      page.on('request', (r) => {
        const u = r.url();
        if (!u.startsWith(origin) && !u.startsWith(origin.replace('http:', 'ws:')) && !u.startsWith('data:') && !u.startsWith('blob:')) foreign.push(u);
      });
      await page.goto(`${server.url}?token=dash`);
      await page.getByTestId('status').filter({ hasText: 'live' }).waitFor({ timeout: 15_000 });
      type Probe = { videoFrames: number; audioChunks: number; spectrogramColumns: number; chartPoints: number; stats: number; chartRanges: Record<string, [number, number] | null> };
      const probe = () =>
        page.evaluate(() => {
          const s = (globalThis as unknown as { senseflow: Probe }).senseflow;
          return { videoFrames: s.videoFrames, audioChunks: s.audioChunks, spectrogramColumns: s.spectrogramColumns, chartPoints: s.chartPoints, stats: s.stats, chartRanges: s.chartRanges };
        });
      await page.waitForFunction(() => (globalThis as unknown as { senseflow: Probe }).senseflow.videoFrames >= 5, null, { timeout: 15_000 });
      const a = await probe();
      await page.waitForFunction(
        (prev: Probe) => {
          const s = (globalThis as unknown as { senseflow: Probe }).senseflow;
          return s.videoFrames > prev.videoFrames + 5 && s.spectrogramColumns > prev.spectrogramColumns + 5 && s.chartPoints > prev.chartPoints + 2 && s.stats > prev.stats + 2;
        },
        a,
        { timeout: 15_000 },
      );
      const b = await probe();
      expect(b.videoFrames).toBeGreaterThan(a.videoFrames);
      expect(b.audioChunks).toBeGreaterThan(a.audioChunks);
      // The memory chart always has the server's RSS; the CPU chart has data when sysstats is built.
      const finite = (r: [number, number] | null) => !!r && Number.isFinite(r[0]) && Number.isFinite(r[1]);
      expect(finite(b.chartRanges.mem), JSON.stringify(b.chartRanges)).toBe(true);
      if (sources.length === 3) expect(finite(b.chartRanges.cpu), JSON.stringify(b.chartRanges)).toBe(true);
      // The spectrogram is the browser's Web Audio analyser fed the received samples: its loudest bin follows the
      // 0 → 8 kHz chirp (sampled over more than one sweep).
      const peaks: number[] = [];
      for (let i = 0; i < 12; i++) {
        peaks.push(await page.evaluate(() => (globalThis as unknown as { senseflow: { peakHz: Record<string, number> } }).senseflow.peakHz.mic));
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(Math.max(...peaks), JSON.stringify(peaks)).toBeLessThanOrEqual(8100);
      expect(Math.max(...peaks) - Math.min(...peaks), JSON.stringify(peaks)).toBeGreaterThan(2000);
      const seqText = await page.getByTestId('video-meta-cam').textContent();
      expect(seqText).toMatch(/seq \d+/);
      const rows = await page.locator('#stats tbody tr').count();
      expect(rows).toBe(sources.length);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
      expect(errors).toEqual([]);
      expect(foreign).toEqual([]);
      // The page asks for flow control and acknowledges what it consumed (shared codec's Acker).
      const conns = (await server.clientStats()) as { flow: { acks: number } | null }[];
      expect(conns.some((c) => c.flow && c.flow.acks > 0), JSON.stringify(conns)).toBe(true);
    } finally {
      await browser.close();
    }
  });
});
