/**
 * The worker side of the host: loads one source plugin, owns its ring writer, and serves control messages
 * from the main thread one at a time. Data never crosses the message port.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createClock, monotonicNs } from '../clock.js';
import { isSourceDefinition, type SourceContext, type SourceDefinition, type SourceEvent, type SourceHandle } from '../contract/v1/index.js';
import { InvalidOptionError, InvalidStateError, PluginError, serializeError } from '../errors.js';
import { resolveLogger } from '../log.js';
import { FrameRingWriter } from '../ring/frame-ring.js';
import { RingState } from '../ring/layout.js';
import { SampleRingWriter } from '../ring/sample-ring.js';
import { checkSpec, createRingForSpec } from '../ring/for-spec.js';
import { HEARTBEAT_MS, Mailbox, type ControlRequest, type GoMessage, type WorkerInit, type WorkerMessage } from './protocol.js';
import { formatCode } from '../formats.js';
import { PacedLoop } from '../paced-loop.js';
import { RecordWriter } from '../records-writer.js';
import { RestartLossCounter } from './restart-loss.js';

const port = parentPort;
if (!port) throw new Error('@senseflow/core/worker must run in a worker thread (it is started by openSource)');

const init = workerData as WorkerInit;
const post = (m: WorkerMessage) => port.postMessage(m);
const event = (e: SourceEvent) => post({ t: 'event', event: e });

// The watchdog's heartbeat: it stops when the event loop stops turning (a hung plugin). Unref'd: it never
// keeps the worker alive by itself. The beat also drives the restart-loss count below.
const beat = new Int32Array(init.heartbeat);
let onBeat: (() => void) | null = null;
setInterval(() => {
  Atomics.add(beat, 0, 1);
  onBeat?.();
}, HEARTBEAT_MS).unref();

// Control requests are served once the plugin is open; those that come earlier wait here. `go` opens the
// gate of a replacement worker (see WorkerInit.gated).
let go = (): void => {};
const gate = init.gated ? new Promise<void>((r) => (go = r)) : Promise.resolve();
const early: ControlRequest[] = [];
let onRequest: ((req: ControlRequest) => void) | null = null;
const mailbox = new Int32Array(init.mailbox);
const controlPending = () => Atomics.load(mailbox, Mailbox.POSTED) !== Atomics.load(mailbox, Mailbox.TAKEN);
port.on('message', (m: ControlRequest | GoMessage) => {
  Atomics.add(mailbox, Mailbox.TAKEN, 1);
  if (m.t === 'go') go();
  else if (onRequest) onRequest(m);
  else early.push(m);
});

/** Allocates the ring, turning V8's bare "Array buffer allocation failed" into an error that says what and why. */
function allocateRing(spec: ReturnType<typeof checkSpec>, plugin: string): SharedArrayBuffer {
  try {
    return createRingForSpec(spec);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    const size =
      spec.kind === 'video'
        ? `${spec.ring.slots} slots × ${spec.ring.slotBytes} bytes`
        : spec.kind === 'records'
          ? `${spec.ring.slots} slots × ${spec.fields.length} fields`
          : `${spec.ring.capacityFrames} frames × ${spec.channels} channels`;
    const mb = (n: number) => (n >= 1e9 ? `${Math.round(n / 1e9)} GB` : `${Math.round(n / 1e6)} MB`);
    const want =
      spec.kind === 'video'
        ? spec.ring.slots * spec.ring.slotBytes
        : spec.kind === 'records'
          ? spec.ring.slots * spec.fields.length * 8
          : spec.ring.capacityFrames * spec.channels * 4;
    throw new InvalidOptionError(
      'ring',
      `a ring that fits in memory (lower the frame size, slots or buffer length of source '${plugin}')`,
      `a ring of ${size} ≈ ${mb(want)} that could not be allocated (${e.message})`,
      { bytes: want },
    );
  }
}

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
  await gate; // a replacement: the worker it replaces may still own the device and write the ring until now
  const spec = checkSpec(await def.describe(options), def.name);
  const sab = init.sab ?? allocateRing(spec, def.name);
  const abort = new AbortController();
  const clock = createClock();
  let closed = false;
  let failed = false;

  const base = {
    clock,
    log,
    signal: abort.signal,
    disconnected: (reason: string, details?: Record<string, unknown>) => {
      writer.markGap();
      event({ type: 'disconnected', atNs: monotonicNs(), reason, details });
    },
    reconnected: (details?: Record<string, unknown>) => event({ type: 'reconnected', atNs: monotonicNs(), details }),
    // A capture failure is a crash: the host ends this worker and restarts it by policy (once is enough).
    error: (err: unknown) => {
      if (closed || failed) return;
      failed = true;
      log.error({ err }, 'capture failed');
      post({ t: 'failed', error: serializeError(err) });
    },
    warn: (err: unknown) => event({ type: 'warning', atNs: monotonicNs(), error: serializeError(err) }),
    emit: (name: string, payload?: unknown) => event({ type: 'custom', atNs: monotonicNs(), name, payload }),
    mailbox,
    controlPending,
    loop: (o: ConstructorParameters<typeof PacedLoop>[1], tick: ConstructorParameters<typeof PacedLoop>[2]) =>
      new PacedLoop(clock, { onMissed: spec.kind === 'audio' ? undefined : (n) => writer.reportDrop('driver', n), onError: (e) => base.error(e), ...o }, tick),
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
    const records = spec.kind === 'records' ? new RecordWriter(frames, spec.fields.map((f) => f.name), clock.now) : undefined;
    ctx = { ...base, kind: spec.kind, frames, records };
  }
  // A restart continues the same ring: the next item is flagged as following a gap, and once it arrives
  // the items lost in between are counted (capture time × rate) under `restart`.
  const restartLoss = init.restartAttempt > 0 && init.resumeRunning ? new RestartLossCounter(sab, spec) : null;
  if (init.restartAttempt > 0) writer.markGap();
  if (restartLoss) {
    onBeat = () => {
      const lost = restartLoss.poll();
      if (lost === null) return;
      onBeat = null;
      event({ type: 'resumed', atNs: monotonicNs(), attempt: init.restartAttempt, lost });
    };
  }

  const handle: SourceHandle = await def.open(ctx, options, spec);
  let running = false;

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
        if (restartLoss) onBeat = null; // stopped before resuming: nothing was due, nothing is lost
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
  onRequest = (req: ControlRequest) => {
    queue = queue.then(async () => {
      try {
        const value = await serve(req);
        post({ t: 'reply', id: req.id, ok: true, value });
      } catch (e) {
        post({ t: 'reply', id: req.id, ok: false, error: serializeError(e) });
      }
      if (req.t === 'close') port!.close();
    });
  };
  for (const req of early.splice(0)) onRequest(req);

  writer.setState(RingState.stopped);
  post({ t: 'ready', spec, sab, definition: def.name });
}

main().catch((e) => {
  post({ t: 'fail', error: serializeError(e) });
  port.close();
});
