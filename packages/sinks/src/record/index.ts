export { record, Recording, type RecordFormat, type RecordOptions, type RecordingEvent, type RecordingProgress } from './session.js';
export { readManifest, writeManifest, MANIFEST_FILE, MANIFEST_VERSION, type ManifestStream, type MergedInfo, type SessionManifest } from './manifest.js';
export { merge, type MergeOptions, type MergeProgress } from './merge.js';
export { trimSilence, type TrimResult, type TrimSegment, type TrimSilenceOptions } from './trim-silence.js';
export { ensureDir } from './ensure-dir.js';
