import { WebSocket } from 'ws';
import { FoxgloveClient, type Channel, type MessageData } from '@foxglove/ws-protocol';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Connects a @foxglove/ws-protocol client, subscribes to every channel, and collects messages for `ms`. */
export async function collectFoxglove(url: string, ms: number): Promise<{ channels: Channel[]; got: Map<string, MessageData[]>; seconds: number }> {
  const ws = new WebSocket(url, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]);
  const client = new FoxgloveClient({ ws: ws as never });
  const channels: Channel[] = [];
  const topicOfSub = new Map<number, string>();
  const got = new Map<string, MessageData[]>();
  let t0 = 0;
  client.on('advertise', (list) => {
    for (const c of list) {
      channels.push(c);
      topicOfSub.set(client.subscribe(c.id), c.topic);
    }
  });
  client.on('message', (m) => {
    t0 ||= Date.now();
    const t = topicOfSub.get(m.subscriptionId)!;
    if (!got.has(t)) got.set(t, []);
    got.get(t)!.push({ ...m, data: new DataView(m.data.buffer.slice(m.data.byteOffset, m.data.byteOffset + m.data.byteLength)) });
  });
  await new Promise<void>((resolve, reject) => {
    client.on('open', () => resolve());
    client.on('error', (e) => reject(e));
  });
  await sleep(ms);
  const seconds = (Date.now() - t0) / 1000;
  client.close();
  return { channels, got, seconds };
}

