export { serveFoxglove, FoxgloveWsServer, type FoxgloveServeOptions, type FoxgloveClientStats } from './server.js';
