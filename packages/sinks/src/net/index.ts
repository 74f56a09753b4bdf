/** Network sink (server + dashboard) and remote sources. Protocol: docs/protocol.md. */
export { serve, NetServer, type ServeOptions } from './server.js';
export { connect, RemoteSource, type ConnectOptions } from './remote.js';
export { FrameParser, decodeMessage, readHeader, writeHeader, jsonMessage, MsgType, HEADER_BYTES as NET_HEADER_BYTES, MAGIC as NET_MAGIC, PROTOCOL_VERSION, ProtocolError, type Header, type Message } from './protocol.js';
