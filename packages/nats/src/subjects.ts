/**
 * Subject names, header names and clock identity: the parts of the NATS mapping other tools may rely on
 * (documented in docs/nats.md).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { InvalidOptionError } from '@senseflow/core';

/** `sf.<host>.<node>.<stream>`: data; `.control`: request/reply control; `sf.<host>.<node>.clock`: clock probe. */
export const SUBJECT_ROOT = 'sf';
export const KV_BUCKET = 'senseflow_streams';

export const H = {
  seq: 'sf-seq',
  captureNs: 'sf-capture-ns',
  receiveNs: 'sf-receive-ns',
  clock: 'sf-clock',
  flags: 'sf-flags',
  /** Format fields of this item, e.g. `w=640;h=480;s=1920;f=rgb24` or `sf=1234;n=480`. */
  format: 'sf-format',
  /** `index/count/totalBytes` when a frame is split into several messages. */
  chunk: 'sf-chunk',
  /** The publisher's life (random per `publish()`): a new value means its seqs started over. */
  sender: 'sf-sender',
} as const;

const TOKEN = /^[A-Za-z0-9_-]+$/;

export function subjectToken(param: string, v: string): string {
  if (!TOKEN.test(v)) throw new InvalidOptionError(param, 'letters, digits, _ or - only (a NATS subject token)', v);
  return v;
}

export interface StreamAddress {
  host: string;
  node: string;
  stream: string;
}

export const dataSubject = (a: StreamAddress) => `${SUBJECT_ROOT}.${a.host}.${a.node}.${a.stream}`;
export const controlSubject = (a: StreamAddress) => `${dataSubject(a)}.control`;
/** The stream's entry (spec), kept in JetStream beside the data so a recording can be replayed later. */
export const specSubject = (a: StreamAddress) => `${dataSubject(a)}.spec`;
export const clockSubject = (a: Pick<StreamAddress, 'host' | 'node'>) => `${SUBJECT_ROOT}.${a.host}.${a.node}.clock`;
export const kvKey = (a: StreamAddress) => `${a.host}.${a.node}.${a.stream}`;

export function parseDataSubject(subject: string): StreamAddress {
  const p = subject.split('.');
  if (p.length !== 4 || p[0] !== SUBJECT_ROOT || !p.slice(1).every((t) => TOKEN.test(t)))
    throw new InvalidOptionError('subject', `sf.<host>.<node>.<stream> (tokens of letters, digits, _ or -)`, subject);
  return { host: p[1], node: p[2], stream: p[3] };
}

export const defaultHost = (): string => hostname().replace(/[^A-Za-z0-9_-]/g, '_');

/**
 * Identity of this machine's monotonic clock: boot id (Linux) — two streams with the same identity share a
 * clock and their capture times compare directly.
 */
export function clockIdentity(): string {
  try {
    return `${defaultHost()}/${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}`;
  } catch {
    return `${defaultHost()}/pid-${process.pid}`;
  }
}
