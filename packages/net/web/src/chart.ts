/** A rolling uPlot time-series chart (last `keep` points). */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const COLORS = ['#6cf', '#fc6', '#c6f', '#6f9', '#f66', '#ccc'];

export class RollingChart {
  points = 0;
  private plot: uPlot | null = null;
  private names: string[] = [];
  /** uPlot data: x then one array per series; null is a gap (NaN would break the axis range). */
  private readonly data: (number | null)[][] = [[]];

  constructor(private readonly host: HTMLElement, private readonly keep = 120) {}

  /** Adds one sample per series (by name; series appear as they are first seen). */
  add(tSec: number, values: Record<string, number>): void {
    const names = Object.keys(values);
    if (!this.plot || names.some((n) => !this.names.includes(n))) this.rebuild([...new Set([...this.names, ...names])]);
    this.data[0].push(tSec);
    this.names.forEach((n, i) => this.data[i + 1].push(Number.isFinite(values[n]) ? values[n] : null));
    if (this.data[0].length > this.keep) for (const s of this.data) s.shift();
    this.plot!.setData(this.data as uPlot.AlignedData);
    this.points++;
    this.host.dataset.points = String(this.points);
  }

  /** The y axis range uPlot settled on (finite once real values are drawn). */
  yRange(): [number, number] | null {
    const y = this.plot?.scales.y;
    return y && y.min != null && y.max != null ? [y.min, y.max] : null;
  }

  private rebuild(names: string[]): void {
    const len = this.data[0].length;
    for (let i = this.names.length; i < names.length; i++) this.data.push(new Array<number | null>(len).fill(null));
    this.names = names;
    this.plot?.destroy();
    this.plot = new uPlot(
      {
        width: 520,
        height: 200,
        legend: { show: true },
        scales: { x: { time: false } },
        axes: [{ stroke: '#888', grid: { stroke: '#2a2a2a' } }, { stroke: '#888', grid: { stroke: '#2a2a2a' }, size: 64 }],
        series: [{ label: 's' }, ...names.map((n, i) => ({ label: n, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true }))],
      },
      this.data as uPlot.AlignedData,
      this.host,
    );
  }
}
