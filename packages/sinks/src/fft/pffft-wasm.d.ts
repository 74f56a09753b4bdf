// @echogarden/pffft-wasm ships no type declarations; src/fft/pffft-module.ts types what it uses.
declare module '@echogarden/pffft-wasm/simd' {
  const factory: (opts?: object) => Promise<unknown>;
  export default factory;
}
declare module '@echogarden/pffft-wasm' {
  const factory: (opts?: object) => Promise<unknown>;
  export default factory;
}
