/**
 * The live progress line: on a TTY one line rewritten in place a few times a second; otherwise one plain
 * line per second (for logs and pipes).
 */
import type { RecordingProgress } from '@senseflow/sinks';
import { bytes, seconds, sumDrops } from './format.js';

export interface Out {
  tty: boolean;
  out(s: string): void;
  err(s: string): void;
}

export function progressText(p: RecordingProgress, kinds: Record<string, 'video' | 'audio' | 'records'>, rates: Record<string, number>): string {
  const parts = [seconds(p.elapsedS)];
  let drops = 0;
  let total = 0;
  for (const [name, s] of Object.entries(p.streams)) {
    const k = kinds[name];
    if (k === 'video') parts.push(`${name} ${s.items} frames`);
    else if (k === 'audio') parts.push(`${name} ${(s.frames / (rates[name] || 1)).toFixed(1)} s`);
    else parts.push(`${name} ${s.items} records`);
    drops += sumDrops(s.drops);
    total += s.bytes;
  }
  parts.push(`drops ${drops}`, bytes(total));
  return parts.join('  ·  ');
}

export class ProgressLine {
  private last = 0;
  private shown = false;
  constructor(private readonly o: Out) {}

  /** Shows `text` (off a TTY at most once a second, unless `force`: the final state is always shown). */
  update(text: string, force = false): void {
    const now = Date.now();
    if (this.o.tty) {
      this.o.err(`\r\x1b[2K${text}`);
      this.shown = true;
    } else if (force || now - this.last >= 1000) {
      this.o.err(`${text}\n`);
      this.last = now;
    }
  }

  /** Ends the in-place line so following output starts on a fresh line. */
  done(): void {
    if (this.o.tty && this.shown) this.o.err('\n');
    this.shown = false;
  }
}
