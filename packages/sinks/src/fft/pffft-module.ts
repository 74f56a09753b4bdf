/**
 * Loads PFFFT's WebAssembly module (`@echogarden/pffft-wasm`): the SIMD build where the runtime has WASM
 * SIMD (Node ≥ 16.4), else the scalar one. The package ships no types; the surface we call is typed here.
 */

/** The Emscripten module's exports we use (pointers are byte offsets into HEAPF32's buffer). */
export interface PffftModule {
  HEAPF32: Float32Array;
  _pffft_new_setup(n: number, transform: number): number;
  _pffft_destroy_setup(setup: number): void;
  _pffft_aligned_malloc(bytes: number): number;
  _pffft_aligned_free(ptr: number): void;
  _pffft_transform_ordered(setup: number, input: number, output: number, work: number, direction: number): void;
}

type Factory = (opts?: object) => Promise<PffftModule>;

export async function loadPffft(): Promise<PffftModule> {
  try {
    const { default: simd } = (await import('@echogarden/pffft-wasm/simd')) as { default: Factory };
    return await simd();
  } catch {
    const { default: scalar } = (await import('@echogarden/pffft-wasm')) as { default: Factory };
    return await scalar();
  }
}
