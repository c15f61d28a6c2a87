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

/**
 * "Nice" axis ticks covering [lo, hi]: steps of 1, 2 or 5 × 10^k (0, 0.25, 0.5 rather than 0.3341),
 * about `count` of them; the first and last tick enclose the data.
 */
export function niceTicks(lo: number, hi: number, count = 4): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(count - 1, 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const first = Math.floor(lo / step + 1e-9) * step;
  const out: number[] = [];
  for (let v = first; v < hi + step - 1e-9 * step && out.length < 50; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export interface Series {
  name: string;
  points: Array<[number, number]>;
}

/** Curves over x (epochs, time); the axes fit the data. */
export function LineChart({ series, title, xLabel, height = 180, yFormat = fmt, empty = 'No data yet.', note }: { series: Series[]; title: string; xLabel?: string; height?: number; yFormat?: (n: number) => string; empty?: string; note?: ReactNode }) {
  const W = 480;
  const H = height;
  const pad = { l: 48, r: 12, t: 10, b: 26 };
  const all = series.flatMap((s) => s.points);
  if (!all.length) return <figure className="chart"><figcaption>{title}</figcaption><p className="muted">{empty}</p>{note}</figure>;
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys, 0), Math.max(...ys)];
  if (x0 === x1) x1 = x0 + 1;
  if (y0 === y1) y1 = y0 + 1;
  // The y axis spans whole nice ticks; x ticks are nice values inside the data's range.
  const ticks = niceTicks(y0, y1);
  [y0, y1] = [Math.min(y0, ticks[0]!), Math.max(y1, ticks[ticks.length - 1]!)];
  const xTicks = niceTicks(x0, x1, 5).filter((t) => t >= x0 - 1e-9 && t <= x1 + 1e-9);
  const X = (x: number) => pad.l + ((x - x0) / (x1 - x0)) * (W - pad.l - pad.r);
  const Y = (y: number) => H - pad.b - ((y - y0) / (y1 - y0)) * (H - pad.t - pad.b);
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H + 8}`} role="img" aria-label={title}>
        {ticks.map((t, i) => (
          <g key={i}>
            <line x1={pad.l} x2={W - pad.r} y1={Y(t)} y2={Y(t)} className="grid" />
            <text x={pad.l - 4} y={Y(t) + 4} textAnchor="end" className="tick">{yFormat(t)}</text>
          </g>
        ))}
        {xTicks.map((t, i) => (
          <text key={`x${i}`} x={X(t)} y={H - 8} textAnchor={i === xTicks.length - 1 && X(t) > W - 40 ? 'end' : 'middle'} className="tick">{fmt(t, 3)}</text>
        ))}
        {xLabel && <text x={W - pad.r} y={H + 4} textAnchor="end" className="tick">{xLabel}</text>}
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
      {note}
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

/**
 * Horizontal bars: feature importance, probabilities, allocations. With a negative value the track
 * gets a zero line: negative bars grow left of it (a feature whose shuffling helped), positive right.
 */
export function Bars({ items, max, format = fmt }: { items: Array<{ label: string; value: number; note?: ReactNode }>; max?: number; format?: (n: number) => string }) {
  const lowest = Math.min(0, ...items.map((i) => i.value));
  const highest = Math.max(0, ...items.map((i) => i.value));
  const m = max ?? Math.max(...items.map((i) => Math.abs(i.value)), 1e-12);
  // Where zero sits on the track, as a share of its width (0 without negative values).
  const zero = lowest < 0 ? -lowest / Math.max(highest - lowest, 1e-12) : 0;
  const span = lowest < 0 ? Math.max(highest - lowest, 1e-12) : m;
  return (
    <div className="bars">
      {items.map((it) => {
        const width = Math.min(100, (Math.abs(it.value) / span) * 100);
        const left = it.value < 0 ? zero * 100 - width : zero * 100;
        return (
          <div className="bar-row" key={it.label}>
            <span className="bar-label" title={it.label}>{it.label}</span>
            <span className="bar-track">
              {zero > 0 && <span className="bar-zero" style={{ left: `${zero * 100}%` }} />}
              <span className={`bar-fill${it.value < 0 ? ' negative' : ''}`} data-value={it.value} style={{ marginLeft: `${left}%`, width: `${width}%` }} />
            </span>
            <span className="bar-value">{format(it.value)}{it.note}</span>
          </div>
        );
      })}
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

/**
 * Score against one parameter: a dot per trial. Numbers on a linear (or log, when they span more
 * than a factor 20) axis; other values (kinds, layer lists) as evenly spaced categories.
 */
export function Scatter({ title, points, yLabel }: { title: string; points: Array<{ x: unknown; y: number; best?: boolean }>; yLabel: string }) {
  const W = 360;
  const H = 170;
  const pad = { l: 48, r: 14, t: 10, b: 30 };
  if (!points.length) return <figure className="chart"><figcaption>{title}</figcaption><p className="muted">No scored trial yet.</p></figure>;
  const numeric = points.every((p) => typeof p.x === 'number');
  const cats = numeric ? [] : [...new Set(points.map((p) => (typeof p.x === 'string' ? p.x : JSON.stringify(p.x))))];
  const xs = numeric ? points.map((p) => p.x as number) : [];
  const log = numeric && Math.min(...xs) > 0 && Math.max(...xs) / Math.min(...xs) > 20;
  const tx = (v: number) => (log ? Math.log10(v) : v);
  let [x0, x1] = numeric ? [Math.min(...xs.map(tx)), Math.max(...xs.map(tx))] : [-0.5, cats.length - 0.5];
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  const ys = points.map((p) => p.y);
  const ticks = niceTicks(Math.min(...ys), Math.max(...ys) === Math.min(...ys) ? Math.min(...ys) + 1e-3 : Math.max(...ys));
  const [y0, y1] = [ticks[0]!, ticks[ticks.length - 1]! === ticks[0]! ? ticks[0]! + 1 : ticks[ticks.length - 1]!];
  const X = (v: number) => pad.l + ((v - x0) / (x1 - x0)) * (W - pad.l - pad.r);
  const Y = (v: number) => H - pad.b - ((v - y0) / (y1 - y0)) * (H - pad.t - pad.b);
  const xOf = (p: { x: unknown }) => (numeric ? X(tx(p.x as number)) : X(cats.indexOf(typeof p.x === 'string' ? p.x : JSON.stringify(p.x))));
  const xTicks = numeric ? (log ? niceTicks(x0, x1, 4).map((t) => ({ at: t, label: fmt(10 ** t, 3) })) : niceTicks(x0, x1, 4).map((t) => ({ at: t, label: fmt(t, 3) }))).filter((t) => t.at >= x0 - 1e-9 && t.at <= x1 + 1e-9)
    : cats.map((c, i) => ({ at: i, label: c.length > 14 ? `${c.slice(0, 13)}…` : c }));
  return (
    <figure className="chart scatter">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={title}>
        {ticks.map((t, i) => (
          <g key={i}>
            <line x1={pad.l} x2={W - pad.r} y1={Y(t)} y2={Y(t)} className="grid" />
            <text x={pad.l - 4} y={Y(t) + 4} textAnchor="end" className="tick">{fmt(t, 4)}</text>
          </g>
        ))}
        {xTicks.map((t, i) => <text key={i} x={X(t.at)} y={H - 12} textAnchor="middle" className="tick">{t.label}</text>)}
        <text x={W - pad.r} y={H - 1} textAnchor="end" className="tick">{log ? 'log scale' : ''}</text>
        {points.map((p, i) => (
          <circle key={i} cx={xOf(p)} cy={Y(p.y)} r={p.best ? 5 : 3.5} fill={p.best ? '#16a34a' : COLORS[0]} fillOpacity={0.8}>
            <title>{`${typeof p.x === 'string' ? p.x : JSON.stringify(p.x)}: ${yLabel} ${fmt(p.y)}`}</title>
          </circle>
        ))}
      </svg>
    </figure>
  );
}
