export { FileSink, openFileSink, type FileSinkEvent, type FileSinkOptions, type RingSource } from './file-sink.js';
export type { SinkProgress, SinkSummary, VideoEncodeOptions } from './protocol.js';
export { wavHeader, wavHeaderBytes, parseWavHeader, type WavFormat, type WavInfo } from './wav.js';
export { MkvWriter, MKV_TIMECODE_SCALE_NS, RAW_FOURCC, type MkvTrack } from './mkv-writer.js';
export { checkEncoder, checkFfmpeg, countPackets, videoEncoders } from './video-out.js';
