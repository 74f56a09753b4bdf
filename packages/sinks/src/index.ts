export * from './fft/index.js';
export * from './spectrum/index.js';
export * from './file/index.js';
export * from './record/index.js';
