/**
 * Pixel conversion outside a capture (files, tests, benchmarks): the same native one-pass kernels the
 * camera loop uses. BT.601 limited range (what OpenCV's COLOR_YUV2RGB_YUYV does); MJPEG via libjpeg-turbo.
 */
import { InvalidOptionError, NativeError } from '@senseflow/core';
import { v4l2Binding } from './native.js';
import { CONVERTED_OUTPUTS, pixelFormatCode, pixelFormatInfo } from './pixel-format.js';

export interface ConvertInput {
  data: Uint8Array;
  /** Source format: `yuyv`, `uyvy`, `nv12`, `nv21`, `mjpeg`/`jpeg`. */
  pixelFormat: string;
  width: number;
  height: number;
  /** Bytes per source row (default: tightly packed). */
  stride?: number;
}

/**
 * Converts one frame into `dst` (allocated when omitted) and returns the filled view.
 *
 * @example
 * ```ts
 * const rgb = convertFrame({ data: yuyv, pixelFormat: 'yuyv', width: 640, height: 480 }, 'rgb24');
 * ```
 */
export function convertFrame(src: ConvertInput, output: string, dst?: Uint8Array): Uint8Array {
  if (!(CONVERTED_OUTPUTS as readonly string[]).includes(output))
    throw new InvalidOptionError('output', `one of ${CONVERTED_OUTPUTS.join(', ')}`, output, { choices: CONVERTED_OUTPUTS });
  if (!pixelFormatInfo(src.pixelFormat)) throw new InvalidOptionError('pixelFormat', 'a known pixel format', src.pixelFormat);
  const need = pixelFormatInfo(output)!.frameBytes(src.width, src.height)!;
  const out = dst ?? new Uint8Array(need);
  if (out.byteLength < need) throw new InvalidOptionError('dst', `at least ${need} bytes`, `${out.byteLength} bytes`);
  try {
    const n = v4l2Binding().convertFrame(src.data, pixelFormatCode(src.pixelFormat), src.width, src.height, src.stride ?? 0, out, pixelFormatCode(output));
    return out.subarray(0, n);
  } catch (e) {
    if (e instanceof Error && (e as { code?: string }).code === 'ECONVERT')
      throw new NativeError(`cannot convert ${src.pixelFormat} ${src.width}x${src.height} to ${output}: ${e.message}`, {
        result: (e as { result?: number }).result,
      });
    throw e;
  }
}
