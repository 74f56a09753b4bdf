/**
 * @senseflow/net — senseflow over the network.
 */
export * from './foxglove/index.js';
