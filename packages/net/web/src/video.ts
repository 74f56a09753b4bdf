/** A video stream's panel: decodes JPEG frames off the main thread (createImageBitmap), newest wins. */
import { fourcc, type Message } from '../../src/codec';

export class VideoPanel {
  readonly el: HTMLElement;
  frames = 0;
  lastSeq = -1n;
  private readonly canvas: HTMLCanvasElement;
  private readonly meta: HTMLElement;
  private decoding = false;
  private next: Message | null = null;

  constructor(readonly name: string, width: number, height: number, private readonly onLatency: (captureNs: bigint) => void) {
    this.el = document.createElement('div');
    this.el.className = 'panel';
    this.el.dataset.testid = `video-${name}`;
    const scale = Math.min(1, 640 / width);
    this.canvas = document.createElement('canvas');
    this.canvas.width = Math.round(width * scale);
    this.canvas.height = Math.round(height * scale);
    this.meta = document.createElement('div');
    this.meta.className = 'meta';
    this.meta.dataset.testid = `video-meta-${name}`;
    const h = document.createElement('h2');
    h.textContent = `${name} — ${width}×${height}`;
    this.el.append(h, this.canvas, this.meta);
  }

  push(m: Message): void {
    this.next = m;
    if (!this.decoding) void this.drain();
  }

  private async drain(): Promise<void> {
    this.decoding = true;
    while (this.next) {
      const m = this.next;
      this.next = null;
      try {
        // Copy the payload out: the Blob must not alias the message buffer. Raw frames are not drawn.
        if (m.f3 !== fourcc('MJPG') && m.f3 !== fourcc('JPEG')) continue;
        const bmp = await createImageBitmap(new Blob([m.payload.slice()], { type: 'image/jpeg' }));
        this.canvas.getContext('2d')!.drawImage(bmp, 0, 0, this.canvas.width, this.canvas.height);
        bmp.close();
        this.frames++;
        this.lastSeq = m.seq;
        this.onLatency(m.captureNs);
        this.meta.textContent = `seq ${m.seq}  frames shown ${this.frames}`;
      } catch {
        /* a corrupt frame: skip it, the next one replaces it */
      }
    }
    this.decoding = false;
  }
}
