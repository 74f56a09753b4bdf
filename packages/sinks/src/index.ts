export * from './fft/index.js';
export * from './spectrum/index.js';
export * from './file/index.js';
export * from './record/index.js';
export * from './mcap/index.js';
