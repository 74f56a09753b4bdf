import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseFirstNumber } from './scan.js';

/**
 * Parses a thermal-zone `temp` or hwmon `temp*_input` file (millidegrees Celsius) into °C.
 *
 * @example
 * ```ts
 * parseMilliCelsius(Buffer.from('45000\n'), 6); // 45
 * ```
 */
export function parseMilliCelsius(buf: Uint8Array, len: number): number {
  return parseFirstNumber(buf, len) / 1000;
}

export interface TemperatureSensor {
  /** Field name, e.g. `temp.x86_pkg_temp` (thermal zone type) or `temp.coretemp.core_0` (hwmon chip + label). */
  name: string;
  /** The file that holds the reading (millidegrees Celsius). */
  path: string;
  /** Where the name came from, for the field description. */
  label: string;
}

/** Makes a name segment safe for dotted field names: no dots, no spaces, lower case. */
export function fieldSegment(s: string): string {
  return s.trim().toLowerCase().replace(/[^a-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '') || 'unnamed';
}

const readText = (p: string): string | undefined => {
  try {
    return readFileSync(p, 'utf8').trim();
  } catch {
    return undefined;
  }
};
const list = (dir: string): string[] => {
  try {
    return readdirSync(dir).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  } catch {
    return [];
  }
};

/**
 * Discovery (once, at open; not for the sampling path): temperature sensors under `<sysRoot>/class/thermal`
 * and `<sysRoot>/class/hwmon` that can be read right now. Names are unique (a repeat gets `_2`, `_3`…).
 */
export function findTemperatureSensors(sysRoot = '/sys'): TemperatureSensor[] {
  const out: TemperatureSensor[] = [];
  const used = new Map<string, number>();
  const add = (base: string, path: string, label: string) => {
    if (!Number.isFinite(parseFloat(readText(path) ?? ''))) return; // unreadable or not a number: skip
    const n = (used.get(base) ?? 0) + 1;
    used.set(base, n);
    out.push({ name: n === 1 ? base : `${base}_${n}`, path, label });
  };
  const thermal = join(sysRoot, 'class/thermal');
  for (const zone of list(thermal).filter((z) => z.startsWith('thermal_zone'))) {
    const dir = join(thermal, zone);
    const type = readText(join(dir, 'type')) ?? zone;
    add(`temp.${fieldSegment(type)}`, join(dir, 'temp'), `thermal zone ${zone} (${type})`);
  }
  const hwmon = join(sysRoot, 'class/hwmon');
  for (const chip of list(hwmon)) {
    const dir = join(hwmon, chip);
    const chipName = readText(join(dir, 'name')) ?? chip;
    for (const f of list(dir)) {
      const m = /^temp(\d+)_input$/.exec(f);
      if (!m) continue;
      const label = readText(join(dir, `temp${m[1]}_label`)) ?? `temp${m[1]}`;
      add(`temp.${fieldSegment(chipName)}.${fieldSegment(label)}`, join(dir, f), `hwmon ${chip} (${chipName}) ${label}`);
    }
  }
  return out.filter((s) => existsSync(s.path));
}
