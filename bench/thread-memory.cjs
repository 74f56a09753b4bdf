// Preloaded into every thread of the soak bench's recording (`node --expose-gc -r bench/thread-memory.cjs`):
// on request, a worker runs a full GC and replies with its live V8 heap. The main thread's gc() reaches only
// its own isolate; without this, each worker's garbage and heap headroom (which V8 sizes up over the first
// minutes) reads as RSS growth. Bench/test instrumentation only — library code knows nothing of it.
'use strict';
const { isMainThread, threadId, workerData, BroadcastChannel } = require('node:worker_threads');
const v8 = require('node:v8');

if (!isMainThread) {
  const channel = new BroadcastChannel('senseflow:thread-memory');
  channel.unref(); // never keeps a worker alive
  channel.onmessage = ({ data }) => {
    if (data !== 'gc') return;
    if (typeof globalThis.gc === 'function') globalThis.gc();
    const h = v8.getHeapStatistics();
    const name = String(workerData?.name ?? workerData?.specifier ?? '?').split('/').pop();
    channel.postMessage({ threadId, name, usedBytes: h.used_heap_size, totalBytes: h.total_heap_size });
  };
}
