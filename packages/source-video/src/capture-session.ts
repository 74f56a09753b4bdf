/**
 * The streaming loop of one camera, inside the source's worker: poll (≤ 50 ms), claim a ring slot, let the
 * addon convert the driver's buffer straight into it, commit with the driver's capture time. Loss is
 * counted (sequence gaps → `driver`, full ring → `ringFull`, unplugged time → `disconnect`), an unplug is
 * reported and the same camera (by stable id) is reopened in the same mode when it comes back.
 */
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import { DisconnectedError, ItemFlags, type FrameSourceContext } from '@senseflow/core';
import { findNodeById } from './cameras.js';
import { V4l2Device, type AppliedFormat, type CameraControl } from './device.js';
import { toTypedError, type NativeFrame } from './native.js';
import type { NegotiatedMode } from './negotiate.js';
import { TimestampGuard } from './timestamps.js';
import { UnsupportedFormatError } from '@senseflow/core';

/** V4L2_BUF_FLAG_ERROR: the driver says the buffer's data may be corrupt. */
const BUF_FLAG_ERROR = 0x40;
const POLL_MS = 50;
const RESCAN_MS = 250;

export interface SessionConfig {
  path: string;
  id: string;
  mode: NegotiatedMode;
  /** FourCC code the addon writes (0 = passthrough). */
  outCode: number;
  /** Ring format code of the items. */
  formatCode: number;
  width: number;
  height: number;
  stride: number;
  buffers: number;
  compressed: boolean;
}

export class CaptureSession {
  private dev: V4l2Device | null = null;
  private path: string;
  private running = false;
  private loop: Promise<void> | null = null;
  private lastSeq: number | undefined;
  private readonly periodNs: bigint;
  private guard: TimestampGuard;
  private fallbackNoted = false;
  private lostAtNs = 0n;
  private nextScanNs = 0n;
  private badFrames = 0;
  applied: AppliedFormat | undefined;

  constructor(
    private readonly ctx: FrameSourceContext,
    private readonly cfg: SessionConfig,
  ) {
    this.path = cfg.path;
    this.periodNs = cfg.mode.fps > 0 ? BigInt(Math.round(1e9 / cfg.mode.fps)) : 100_000_000n;
    this.guard = new TimestampGuard(this.maxAgeNs());
  }

  /** Older stamps are on another clock (wall time, boot time), not late: a stalled worker can lag seconds. */
  private maxAgeNs(): bigint {
    const queued = this.periodNs * BigInt(this.cfg.buffers + 2);
    return queued > 30_000_000_000n ? queued : 30_000_000_000n;
  }

  /** Opens the node and applies the negotiated mode; throws UnsupportedFormatError if the driver changes it. */
  openDevice(path = this.path): void {
    const dev = new V4l2Device(path);
    try {
      const m = this.cfg.mode.native;
      const f = dev.setFormat(m.fourcc, m.width, m.height);
      if (f.fourcc !== m.fourcc || f.width !== m.width || f.height !== m.height)
        throw new UnsupportedFormatError(`${path} turned ${m.width}x${m.height} ${m.pixelFormat} into ${f.width}x${f.height} ${f.pixelFormat}`, {
          requested: m,
          applied: f,
        });
      if (this.cfg.mode.interval) {
        const got = dev.setFrameInterval(this.cfg.mode.interval);
        if (got && Math.abs(got.den / got.num - this.cfg.mode.fps) > Math.max(0.01 * this.cfg.mode.fps, 0.05))
          this.ctx.log.warn({ requested: this.cfg.mode.interval, got }, 'driver chose another frame interval');
      }
      this.applied = f;
      this.dev = dev;
      this.path = path;
    } catch (e) {
      dev.close();
      throw e;
    }
  }

  get device(): V4l2Device {
    if (!this.dev) throw new DisconnectedError(`camera ${this.cfg.id} is disconnected`, { id: this.cfg.id, path: this.path });
    return this.dev;
  }

  start(): void {
    if (this.running) return;
    if (this.dev) this.dev.startStreaming(this.cfg.buffers);
    this.lastSeq = undefined;
    this.running = true;
    this.loop = this.run().catch((e) => {
      this.running = false;
      this.ctx.error(toTypedError(e, `capture from ${this.path}`));
    });
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.loop;
    this.loop = null;
    try {
      this.dev?.stopStreaming();
    } catch (e) {
      this.ctx.log.warn({ err: e }, 'STREAMOFF failed');
    }
  }

  async close(): Promise<void> {
    await this.stop();
    this.dev?.close();
    this.dev = null;
  }

  listControls(): CameraControl[] {
    return this.device.listControls();
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (this.dev) this.step(this.dev);
      else this.tryReconnect();
      // Yield between frames so the worker serves control messages (stop, setControl, …).
      if (this.dev) await yieldToLoop();
      else await sleep(POLL_MS);
    }
  }

  private step(dev: V4l2Device): void {
    const { frames, clock } = this.ctx;
    const native = dev.native;
    let ready: string;
    try {
      ready = native.waitReadable(POLL_MS);
    } catch (e) {
      return this.onGone(dev, (e as { code?: string }).code ?? 'EIO');
    }
    if (ready !== 'ready') return;
    const slot = frames.begin(); // null = every slot leased by readers: the frame is discarded (counted as ringFull)
    let r: ReturnType<typeof native.dequeueInto>;
    try {
      r = native.dequeueInto(slot ? slot.data : null, this.cfg.outCode, 0);
    } catch (e) {
      if (slot) frames.abort(slot);
      throw e;
    }
    const receiveNs = clock.now();
    if (r === null) {
      if (slot) frames.abort(slot);
      return;
    }
    if (!('seq' in r)) {
      if (slot) frames.abort(slot);
      return this.onGone(dev, r.disconnected);
    }
    const f = r as NativeFrame;
    if (this.lastSeq !== undefined) {
      const gap = (f.seq - this.lastSeq - 1) >>> 0;
      if (gap > 0 && gap < 1 << 24) frames.reportDrop('driver', gap);
    }
    this.lastSeq = f.seq;
    if (f.bytes < 0 || f.bufFlags & BUF_FLAG_ERROR) {
      // A frame we cannot use (corrupt JPEG, short buffer, driver error flag) is a counted loss, not an item.
      if (slot) frames.abort(slot);
      frames.reportDrop('driver', 1);
      if (this.badFrames++ % 100 === 0)
        this.ctx.log.warn({ error: f.error, jpegError: f.jpegError, bufFlags: f.bufFlags, bytesUsed: f.bytesUsed, count: this.badFrames }, 'unusable frame dropped');
    } else if (slot) {
      const { captureNs, fallback } = this.guard.check(f.tsNs, receiveNs);
      if (fallback) {
        slot.flags |= ItemFlags.TIMESTAMP_FALLBACK;
        if (!this.fallbackNoted) {
          this.fallbackNoted = true;
          this.ctx.log.warn({ tsNs: String(f.tsNs), nowNs: String(receiveNs), tsFlags: f.tsFlags }, `using receive time: ${fallback}`);
          this.ctx.emit('timestamp-fallback', { reason: fallback });
        }
      }
      slot.width = this.cfg.width;
      slot.height = this.cfg.height;
      slot.stride = this.cfg.stride;
      slot.format = this.cfg.formatCode;
      slot.flags |= ItemFlags.KEY;
      frames.commit(slot, f.bytes, captureNs, receiveNs);
    }
    if (f.disconnected) this.onGone(dev, f.disconnected);
  }

  private onGone(dev: V4l2Device, errno: string): void {
    this.lostAtNs = this.ctx.clock.now();
    this.nextScanNs = this.lostAtNs;
    this.ctx.disconnected(`${this.path} went away (${errno})`, { path: this.path, id: this.cfg.id, errno });
    try {
      dev.stopStreaming();
    } catch {
      /* the device is gone: STREAMOFF may fail */
    }
    dev.close();
    this.dev = null;
  }

  private tryReconnect(): void {
    const now = this.ctx.clock.now();
    if (now < this.nextScanNs) return;
    this.nextScanNs = now + BigInt(RESCAN_MS) * 1_000_000n;
    const path = findNodeById(this.cfg.id);
    if (!path) return;
    try {
      this.openDevice(path);
      this.dev!.startStreaming(this.cfg.buffers);
    } catch (e) {
      this.ctx.log.debug({ err: e, path }, 'camera is back but cannot be opened yet');
      this.dev?.close();
      this.dev = null;
      return;
    }
    const lost = Number((this.ctx.clock.now() - this.lostAtNs) / this.periodNs);
    if (lost > 0) this.ctx.frames.reportDrop('disconnect', lost);
    this.lastSeq = undefined;
    this.ctx.reconnected({ path, id: this.cfg.id });
  }
}
