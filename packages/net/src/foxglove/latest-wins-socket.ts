/**
 * A Foxglove client connection as FoxgloveServer sees it, with latest-wins in front of the real socket
 * (runs in the Foxglove server's worker). Message data arrives as a 13-byte header (opcode, subscription
 * id, timestamp) then the payload; when the socket is backed up the pair is parked per subscription,
 * replacing (and counting) an older parked one — a slow client gets the newest message, never a backlog.
 */
import type { IWebSocket } from '@foxglove/ws-protocol';
import type { WebSocket } from 'ws';

const MESSAGE_DATA = 0x01;

/** What one client was sent and lost (latest-wins), by topic. */
export interface FoxgloveClientStats {
  id: number;
  remote: string;
  sent: Record<string, number>;
  dropped: Record<string, number>;
}

export class LatestWinsSocket implements IWebSocket {
  binaryType = 'arraybuffer';
  onerror: ((event: unknown) => void) | null | undefined = null;
  onopen: ((event: unknown) => void) | null | undefined = null;
  onclose: ((event: unknown) => void) | null | undefined = null;
  onmessage: ((event: unknown) => void) | null | undefined = null;
  private header: Uint8Array | null = null;
  private readonly parked = new Map<number, [Uint8Array, ArrayBufferView | ArrayBuffer]>();
  /** Subscription id → topic, learned from the client's subscribe requests. */
  private readonly topics = new Map<number, string>();
  readonly stats: FoxgloveClientStats;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly ws: WebSocket,
    id: number,
    remote: string,
    private readonly highWater: number,
    private readonly topicOf: (channelId: number) => string | undefined,
  ) {
    this.stats = { id, remote, sent: {}, dropped: {} };
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? null : data.toString();
      if (text) this.learn(text);
      this.onmessage?.({ data: isBinary ? new Uint8Array(data as Buffer) : text });
    });
    ws.on('close', (code, reason) => {
      if (this.timer) clearInterval(this.timer);
      this.parked.clear();
      this.onclose?.({ code, reason: reason.toString(), wasClean: true });
    });
    ws.on('error', (e) => this.onerror?.(e));
  }

  get protocol(): string {
    return this.ws.protocol;
  }

  close(): void {
    this.ws.close();
  }

  send(data: string | ArrayBuffer | ArrayBufferView, options?: { fin?: boolean }): void {
    if (typeof data === 'string') return void this.ws.send(data);
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (options?.fin === false && bytes[0] === MESSAGE_DATA && bytes.byteLength === 13) {
      this.header = bytes;
      return;
    }
    const header = this.header;
    this.header = null;
    if (!header) return void this.ws.send(bytes);
    const sub = new DataView(header.buffer, header.byteOffset, header.byteLength).getUint32(1, true);
    if (this.ws.bufferedAmount > this.highWater || this.parked.size > 0) {
      if (this.parked.has(sub)) this.count(this.stats.dropped, sub);
      this.parked.delete(sub); // re-insert: the newest goes to the back of the line
      this.parked.set(sub, [header, data]);
      this.timer ??= setInterval(() => this.flush(), 5);
      return;
    }
    this.write(sub, header, data);
  }

  private write(sub: number, header: Uint8Array, payload: ArrayBufferView | ArrayBuffer): void {
    this.ws.send(header, { fin: false });
    this.ws.send(payload, { fin: true });
    this.count(this.stats.sent, sub);
  }

  private flush(): void {
    for (const [sub, [h, p]] of this.parked) {
      if (this.ws.bufferedAmount > this.highWater) return;
      this.parked.delete(sub);
      this.write(sub, h, p);
    }
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private count(into: Record<string, number>, sub: number): void {
    const t = this.topics.get(sub) ?? `#${sub}`;
    into[t] = (into[t] ?? 0) + 1;
  }

  private learn(text: string): void {
    try {
      const m = JSON.parse(text) as { op?: string; subscriptions?: { id: number; channelId: number }[] };
      if (m.op === 'subscribe') for (const s of m.subscriptions ?? []) this.topics.set(s.id, this.topicOf(s.channelId) ?? `#${s.channelId}`);
    } catch {
      // FoxgloveServer reports malformed messages itself
    }
  }
}
