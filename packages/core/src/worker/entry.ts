/**
 * The worker side of the host: loads one source plugin, owns its ring writer, and serves control messages
 * from the main thread one at a time. Data never crosses the message port.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createClock, monotonicNs } from '../clock.js';
import { isSourceDefinition, type SourceContext, type SourceDefinition, type SourceEvent, type SourceHandle } from '../contract/v1/index.js';
import { InvalidStateError, PluginError, serializeError } from '../errors.js';
import { resolveLogger } from '../log.js';
import { FrameRingWriter } from '../ring/frame-ring.js';
import { RingState } from '../ring/layout.js';
import { SampleRingWriter } from '../ring/sample-ring.js';
import { checkSpec, createRingForSpec } from '../ring/for-spec.js';
import type { ControlRequest, WorkerInit, WorkerMessage } from './protocol.js';
import { formatCode } from '../formats.js';

const port = parentPort;
if (!port) throw new Error('@senseflow/core/worker must run in a worker thread (it is started by openSource)');

const init = workerData as WorkerInit;
const post = (m: WorkerMessage) => port.postMessage(m);
const event = (e: SourceEvent) => post({ t: 'event', event: e });

async function loadDefinition(specifier: string): Promise<SourceDefinition<unknown>> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(specifier)) as Record<string, unknown>;
  } catch (e) {
    throw new PluginError(`cannot load source module ${specifier}: ${(e as Error).message}`, { specifier });
  }
  const candidates = [mod.default, mod.source, (mod.default as Record<string, unknown> | undefined)?.default];
  const def = candidates.find(isSourceDefinition);
  if (!def) throw new PluginError(`${specifier} does not export a source made with defineSource() (as default or \`source\`)`, { specifier });
  return def;
}

async function main(): Promise<void> {
  const def = await loadDefinition(init.specifier);
  const log = resolveLogger({ logLevel: init.logLevel }, { source: def.name, thread: 'worker' });
  const options = def.options.parse(init.options);
  const spec = checkSpec(await def.describe(options), def.name);
  const sab = init.sab ?? createRingForSpec(spec);
  const abort = new AbortController();
  const clock = createClock();

  const base = {
    clock,
    log,
    signal: abort.signal,
    disconnected: (reason: string, details?: Record<string, unknown>) => {
      writer.markGap();
      event({ type: 'disconnected', atNs: monotonicNs(), reason, details });
    },
    reconnected: (details?: Record<string, unknown>) => event({ type: 'reconnected', atNs: monotonicNs(), details }),
    error: (err: unknown) => event({ type: 'error', atNs: monotonicNs(), error: serializeError(err) }),
    emit: (name: string, payload?: unknown) => event({ type: 'custom', atNs: monotonicNs(), name, payload }),
  };
  let writer: FrameRingWriter | SampleRingWriter;
  let ctx: SourceContext;
  if (spec.kind === 'audio') {
    const samples = new SampleRingWriter(sab);
    writer = samples;
    ctx = { ...base, kind: 'audio', samples };
  } else {
    const defaults =
      spec.kind === 'video' ? { width: spec.width, height: spec.height, stride: spec.stride, format: formatCode(spec.pixelFormat) } : {};
    const frames = new FrameRingWriter(sab, defaults);
    writer = frames;
    ctx = { ...base, kind: spec.kind, frames };
  }
  if (init.restartAttempt > 0) writer.reportDrop('restart', 1);

  const handle: SourceHandle = await def.open(ctx, options, spec);
  let running = false;
  let closed = false;

  const serve = async (req: ControlRequest): Promise<unknown> => {
    if (closed) throw new InvalidStateError(`source '${def.name}' is closed`);
    switch (req.t) {
      case 'start':
        if (!running) {
          await handle.start();
          running = true;
          writer.setState(RingState.running);
          event({ type: 'started', atNs: monotonicNs() });
        }
        return;
      case 'stop':
        if (running) {
          await handle.stop();
          running = false;
          writer.setState(RingState.stopped);
          event({ type: 'stopped', atNs: monotonicNs() });
        }
        return;
      case 'close':
        closed = true;
        abort.abort();
        try {
          if (running) await handle.stop();
        } finally {
          running = false;
          await handle.close();
          writer.setState(RingState.closed);
        }
        return;
      case 'getControl':
        if (!handle.getControl) throw new InvalidStateError(`source '${def.name}' has no controls`);
        return handle.getControl(req.name);
      case 'setControl':
        if (!handle.setControl) throw new InvalidStateError(`source '${def.name}' has no controls`);
        return handle.setControl(req.name, req.value);
      case 'listControls':
        return handle.listControls ? handle.listControls() : [];
    }
  };

  // Serve requests strictly one after another: the contract promises hooks never run concurrently.
  let queue: Promise<void> = Promise.resolve();
  port!.on('message', (req: ControlRequest) => {
    queue = queue.then(async () => {
      try {
        const value = await serve(req);
        post({ t: 'reply', id: req.id, ok: true, value });
      } catch (e) {
        post({ t: 'reply', id: req.id, ok: false, error: serializeError(e) });
      }
      if (req.t === 'close') port!.close();
    });
  });

  writer.setState(RingState.stopped);
  post({ t: 'ready', spec, sab, definition: def.name });
}

main().catch((e) => {
  post({ t: 'fail', error: serializeError(e) });
  port.close();
});
