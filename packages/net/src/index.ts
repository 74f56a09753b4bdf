/** Network server (WebSocket/TCP + dashboard), remote sources, and the wire codec. Protocol: docs/protocol.md. */
export { serve, NetServer, type ServeOptions } from './server.js';
export { connect, RemoteSource, type ConnectOptions, type RemoteSources } from './remote.js';
export {
  FrameParser,
  decodeMessage,
  readHeader,
  writeHeader,
  jsonMessage,
  ackMessage,
  Acker,
  type AckCadence,
  parseJson,
  MsgType,
  HEADER_BYTES as NET_HEADER_BYTES,
  MAGIC as NET_MAGIC,
  PROTOCOL_VERSION,
  ProtocolError,
  type Header,
  type Message,
} from './codec.js';
export * from './foxglove/index.js';
