export { record, Recording, type ManifestEvent, type RecordFormat, type RecordOptions, type RecordingEvent, type RecordingProgress } from './session.js';
export { openSessionDir, SessionLock, lockOwner, LOCK_FILE } from './session-dir.js';
export { readManifest, writeManifest, MANIFEST_FILE, MANIFEST_VERSION, type ManifestStream, type MergedInfo, type SessionManifest } from './manifest.js';
export { merge, type MergeOptions, type MergeProgress } from './merge.js';
export { trimSilence, type TrimResult, type TrimSegment, type TrimSilenceOptions } from './trim-silence.js';
export { ensureDir } from './ensure-dir.js';
export { repair, type RepairOptions, type RepairReport, type RepairStreamReport } from './repair.js';
export { startSession, CaptureSession, type CaptureSessionOptions, type SourceOpener } from './capture-session.js';
