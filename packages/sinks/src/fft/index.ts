export type { FftEngine, FftEngineName, FftPlan, MagnitudeKind, MagnitudeOptions, RingJob, RingLayout, RingWindows } from './engine.js';
export { MIN_FFT_SIZE, MAX_FFT_SIZE } from './engine.js';
export { makeWindow, windowSum, windowEnergy, WINDOW_NAMES, type WindowName } from './window.js';
export { JsFftEngine } from './js-fft.js';
export { FftwEngine, fftwAddon, type FftwEffort } from './native.js';
export { fftEngine, fftFallbackReason, type FftEngineOptions } from './select.js';
