/**
 * The MCAP part of a session manifest (`session.json` → `mcap`), and the stream entries of a session
 * recorded to MCAP only (then `file` is `session.mcap` and the timestamps and drop ledger are its channels).
 */
import { basename } from 'node:path';
import type { StreamSpec } from '@senseflow/core';
import type { ManifestStream, McapManifest } from '../record/manifest.js';
import type { McapStreamProgress, McapSummary } from './protocol.js';

export type { McapManifest };

export function mcapManifest(s: McapSummary): McapManifest {
  return {
    file: basename(s.file),
    complete: s.complete,
    bytes: s.bytes,
    streams: Object.fromEntries(Object.entries(s.streams).map(([n, p]) => [n, { topic: p.topic, schema: p.schema, messages: p.items, drops: p.drops }])),
    error: s.error ? { code: s.error.code, message: s.error.message } : null,
  };
}

/** A manifest stream entry for a stream stored only in the MCAP file. */
export function mcapStreamEntry(name: string, spec: StreamSpec, device: string, file: string, p: McapStreamProgress | undefined, error: McapSummary['error']): ManifestStream {
  const f = basename(file);
  return {
    name,
    kind: spec.kind,
    device,
    spec,
    file: f,
    files: [f],
    timestamps: `${f}#/${name}`,
    dropLedger: `${f}#/${name}/drops`,
    storage: `mcap:${p?.schema ?? ''}`,
    items: p?.items ?? 0,
    ...(spec.kind === 'audio' ? { frames: p?.frames ?? 0 } : {}),
    bytes: p?.bytes ?? 0,
    drops: p?.drops ?? {},
    firstCaptureNs: p?.firstCaptureNs ?? null,
    lastCaptureNs: p?.lastCaptureNs ?? null,
    error: error ? { code: error.code, message: error.message } : null,
  };
}
