import { PluginError } from '../errors.js';
import type { StreamSpec } from '../contract/v1/index.js';
import { createFrameRing } from './frame-ring.js';
import { createSampleRing } from './sample-ring.js';
import { SAMPLE_FORMATS } from './layout.js';

/** Checks a plugin's spec (a plugin bug is reported as a PluginError naming the field). */
export function checkSpec(spec: StreamSpec, plugin: string): StreamSpec {
  const bad = (field: string, want: string) => new PluginError(`source '${plugin}' described an invalid spec: \`${field}\` must be ${want}`, { field });
  const posInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;
  if (!spec || typeof spec !== 'object') throw bad('spec', 'an object');
  switch (spec.kind) {
    case 'video':
      if (!posInt(spec.width) || !posInt(spec.height)) throw bad('width/height', 'positive integers');
      if (typeof spec.pixelFormat !== 'string') throw bad('pixelFormat', 'a string');
      if (!posInt(spec.ring?.slots) || spec.ring.slots < 2) throw bad('ring.slots', 'an integer ≥ 2');
      if (!posInt(spec.ring?.slotBytes)) throw bad('ring.slotBytes', 'a positive integer');
      break;
    case 'audio':
      if (!posInt(spec.rate) || !posInt(spec.channels)) throw bad('rate/channels', 'positive integers');
      if (!SAMPLE_FORMATS.includes(spec.format)) throw bad('format', `one of ${SAMPLE_FORMATS.join(', ')}`);
      if (!posInt(spec.ring?.capacityFrames)) throw bad('ring.capacityFrames', 'a positive integer');
      break;
    case 'records':
      if (!Array.isArray(spec.fields) || spec.fields.length === 0) throw bad('fields', 'a non-empty array');
      if (!posInt(spec.ring?.slots) || spec.ring.slots < 2) throw bad('ring.slots', 'an integer ≥ 2');
      break;
    default:
      throw bad('kind', "one of 'video', 'audio', 'records'");
  }
  return spec;
}

/** Allocates the ring a spec asks for. */
export function createRingForSpec(spec: StreamSpec): SharedArrayBuffer {
  switch (spec.kind) {
    case 'video':
      return createFrameRing({ slots: spec.ring.slots, slotBytes: spec.ring.slotBytes });
    case 'records':
      return createFrameRing({ slots: spec.ring.slots, slotBytes: spec.fields.length * 8 });
    case 'audio': {
      const minChunk = Math.max(1, Math.min(spec.periodFrames || 64, 64));
      const chunks = spec.ring.chunks ?? Math.min(1 << 20, Math.ceil(spec.ring.capacityFrames / minChunk) + 16);
      return createSampleRing({ channels: spec.channels, rate: spec.rate, format: spec.format, capacityFrames: spec.ring.capacityFrames, chunks });
    }
  }
}
