export { McapSink, openMcapSink, MCAP_FILE, mcapPath, type McapSinkOptions, type McapStreamInput } from './mcap-sink.js';
export type { McapSummary, McapStreamProgress } from './protocol.js';
export type { McapFileOptions, McapCompression } from './file-writer.js';
export { mcapManifest, type McapManifest } from './manifest.js';
export { readMcapInfo, readMcapMessages, type McapChannelInfo, type McapFileInfo, type McapMessage } from './read.js';
export { channelsFor, MessageEncoder, foxgloveProto, recordsJsonSchema, rawImageEncoding, jsonMessage as jsonChannelMessage, isJpegFormat, type ChannelDef } from './schemas.js';
export { openMcap, mcapTopics, type McapReplay, type OpenMcapOptions } from './open-mcap.js';
export type { McapReplayOptions } from './replay-source.js';
