/**
 * Records (sysstats and other numeric streams) as NDJSON and CSV with named columns. Every row carries
 * seq and capture/receive times; bigints are decimal strings (JSON) or plain integers (CSV).
 */
import { TextOut } from './out-file.js';

const csvCell = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
// ±Infinity is a value (an unlimited cgroup.mem.limit): written `Infinity` in both files (JSON has no
// literal for it, so a string there). NaN means "no value": null / an empty cell.
const num = (v: number) => (Number.isNaN(v) ? '' : String(v));
const json = (v: number) => (Number.isNaN(v) ? null : Number.isFinite(v) ? v : String(v));

export class RecordsWriter {
  private readonly ndjson: TextOut | null;
  private readonly csv: TextOut | null;

  constructor(ndjsonPath: string | null, csvPath: string | null, private readonly fields: readonly string[]) {
    this.ndjson = ndjsonPath ? new TextOut(ndjsonPath) : null;
    this.csv = csvPath ? new TextOut(csvPath, ['seq', 'captureNs', 'receiveNs', ...fields].map(csvCell).join(',')) : null;
  }

  write(seq: bigint, captureNs: bigint, receiveNs: bigint, values: Float64Array): void {
    if (this.ndjson) {
      const o: Record<string, string | number | null> = { seq: Number(seq), captureNs: String(captureNs), receiveNs: String(receiveNs) };
      for (let i = 0; i < this.fields.length; i++) o[this.fields[i]] = json(values[i]);
      this.ndjson.line(JSON.stringify(o));
    }
    if (this.csv) {
      let row = `${seq},${captureNs},${receiveNs}`;
      for (let i = 0; i < this.fields.length; i++) row += ',' + num(values[i]);
      this.csv.line(row);
    }
  }

  /** Bytes of the NDJSON file (written plus pending). */
  get bytes(): number {
    return this.ndjson?.bytes ?? this.csv?.bytes ?? 0;
  }

  flush(): void {
    this.ndjson?.flush();
    this.csv?.flush();
  }

  close(): void {
    try {
      this.ndjson?.close();
    } finally {
      this.csv?.close();
    }
  }
}
