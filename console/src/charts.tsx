/** Charts drawn with inline SVG: line curves, histograms, heat maps, horizontal bars. */
import type { ReactNode } from 'react';

export const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];

export function fmt(n: number | undefined | null, digits = 4): string {
  if (n === undefined || n === null || Number.isNaN(n)) return '–';
  if (Number.isInteger(n)) return String(n);
  const a = Math.abs(n);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return n.toExponential(2);
  return String(Number(n.toFixed(digits)));
}

export interface Series {
  name: string;
  points: Array<[number, number]>;
}

/** Curves over x (epochs, time); the axes fit the data. */
export function LineChart({ series, title, xLabel, height = 180, yFormat = fmt }: { series: Series[]; title: string; xLabel?: string; height?: number; yFormat?: (n: number) => string }) {
  const W = 480;
  const H = height;
  const pad = { l: 48, r: 12, t: 10, b: 26 };
  const all = series.flatMap((s) => s.points);
  if (!all.length) return <figure className="chart"><figcaption>{title}</figcaption><p className="muted">No data yet.</p></figure>;
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys, 0), Math.max(...ys)];
  if (x0 === x1) x1 = x0 + 1;
  if (y0 === y1) y1 = y0 + 1;
  const X = (x: number) => pad.l + ((x - x0) / (x1 - x0)) * (W - pad.l - pad.r);
  const Y = (y: number) => H - pad.b - ((y - y0) / (y1 - y0)) * (H - pad.t - pad.b);
  const ticks = [y0, (y0 + y1) / 2, y1];
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={title}>
        {ticks.map((t, i) => (
          <g key={i}>
            <line x1={pad.l} x2={W - pad.r} y1={Y(t)} y2={Y(t)} className="grid" />
            <text x={pad.l - 4} y={Y(t) + 4} textAnchor="end" className="tick">{yFormat(t)}</text>
          </g>
        ))}
        <text x={pad.l} y={H - 6} className="tick">{fmt(x0, 1)}</text>
        <text x={W - pad.r} y={H - 6} textAnchor="end" className="tick">{fmt(x1, 1)}{xLabel ? ` ${xLabel}` : ''}</text>
        {series.map((s, i) => (
          <g key={s.name}>
            <polyline fill="none" stroke={COLORS[i % COLORS.length]} strokeWidth={2} points={s.points.map((p) => `${X(p[0])},${Y(p[1])}`).join(' ')} />
            {s.points.length < 40 && s.points.map((p, j) => <circle key={j} cx={X(p[0])} cy={Y(p[1])} r={2.5} fill={COLORS[i % COLORS.length]} />)}
          </g>
        ))}
      </svg>
      <div className="legend">
        {series.map((s, i) => <span key={s.name}><i style={{ background: COLORS[i % COLORS.length] }} />{s.name}</span>)}
      </div>
    </figure>
  );
}

/** A small histogram (counts per bin); labels on hover. */
export function Histogram({ counts, labels, width = 160, height = 40 }: { counts: number[]; labels?: string[]; width?: number; height?: number }) {
  const max = Math.max(...counts, 1);
  const w = width / Math.max(counts.length, 1);
  return (
    <svg className="hist" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label="histogram">
      {counts.map((c, i) => {
        const h = (c / max) * (height - 2);
        return (
          <rect key={i} x={i * w + 0.5} y={height - h} width={Math.max(w - 1, 1)} height={h} fill="#60a5fa">
            <title>{labels?.[i] ? `${labels[i]}: ${c}` : String(c)}</title>
          </rect>
        );
      })}
    </svg>
  );
}

/** Confusion matrix: rows are true labels, columns predicted; darker is more. */
export function HeatMap({ matrix, labels }: { matrix: number[][]; labels: string[] }) {
  const n = labels.length;
  const cell = Math.max(28, Math.min(56, Math.floor(360 / Math.max(n, 1))));
  const left = 90;
  const top = 70;
  const max = Math.max(...matrix.flat(), 1);
  const W = left + n * cell + 60;
  const H = top + n * cell + 4;
  return (
    <svg className="heatmap" viewBox={`0 0 ${W} ${H}`} width={W} role="img" aria-label="confusion matrix">
      <text x={left + (n * cell) / 2} y={12} textAnchor="middle" className="tick">predicted</text>
      {labels.map((l, j) => (
        <text key={`c${j}`} x={left + j * cell + cell / 2} y={top - 6} textAnchor="start" transform={`rotate(-40 ${left + j * cell + cell / 2} ${top - 6})`} className="tick">{l}</text>
      ))}
      {labels.map((l, i) => <text key={`r${i}`} x={left - 6} y={top + i * cell + cell / 2 + 4} textAnchor="end" className="tick">{l}</text>)}
      {matrix.map((row, i) => row.map((v, j) => {
        const a = v / max;
        return (
          <g key={`${i}-${j}`}>
            <rect x={left + j * cell} y={top + i * cell} width={cell - 2} height={cell - 2} fill={`rgba(37, 99, 235, ${0.08 + 0.92 * a})`}>
              <title>{`true ${labels[i]}, predicted ${labels[j]}: ${v}`}</title>
            </rect>
            <text x={left + j * cell + cell / 2 - 1} y={top + i * cell + cell / 2 + 4} textAnchor="middle" fill={a > 0.5 ? '#fff' : '#111'} fontSize={12}>{v}</text>
          </g>
        );
      }))}
    </svg>
  );
}

/** Horizontal bars: feature importance, probabilities, allocations. */
export function Bars({ items, max, format = fmt }: { items: Array<{ label: string; value: number; note?: ReactNode }>; max?: number; format?: (n: number) => string }) {
  const m = max ?? Math.max(...items.map((i) => Math.abs(i.value)), 1e-12);
  return (
    <div className="bars">
      {items.map((it) => (
        <div className="bar-row" key={it.label}>
          <span className="bar-label" title={it.label}>{it.label}</span>
          <span className="bar-track"><span className="bar-fill" style={{ width: `${Math.min(100, (Math.abs(it.value) / m) * 100)}%` }} /></span>
          <span className="bar-value">{format(it.value)}{it.note}</span>
        </div>
      ))}
    </div>
  );
}

export function Progress({ fraction, label }: { fraction: number; label?: string }) {
  const pct = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
  return (
    <div className="progress" role="progressbar" aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100} aria-label={label ?? 'progress'}>
      <div className="progress-fill" style={{ width: `${pct}%` }} />
      <span>{pct}%{label ? ` · ${label}` : ''}</span>
    </div>
  );
}
