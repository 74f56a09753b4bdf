/**
 * `serve --foxglove`: the Foxglove WebSocket server of @senseflow/net beside the dashboard server
 * (loaded on demand, so a build without @senseflow/net only loses this flag).
 */
import { UnsupportedFormatError, type Source } from '@senseflow/core';
import type { FoxgloveServeOptions } from '@senseflow/net';

export async function startFoxglove(o: FoxgloveServeOptions & { sources: Record<string, Source> }): Promise<{ url: string; close(): Promise<void> }> {
  let mod: typeof import('@senseflow/net');
  try {
    mod = await import('@senseflow/net');
  } catch (e) {
    throw new UnsupportedFormatError(`--foxglove needs @senseflow/net, which could not be loaded (${(e as Error).message.split('\n')[0]}); try: pnpm build`);
  }
  return mod.serveFoxglove(o);
}
