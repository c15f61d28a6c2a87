/** Small shared pieces: errors, status badges, dates, sizes. */
import { useEffect, useRef, type ReactNode } from 'react';

export function ErrorBox({ error }: { error?: string }) {
  return error ? <p className="error" role="alert">{error}</p> : null;
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return <p className="muted" aria-live="polite">{what}…</p>;
}

export function Status({ status }: { status: string }) {
  return <span className={`badge ${status}`}>{status}</span>;
}

export function ago(iso?: string | null): string {
  if (!iso) return '–';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.max(s, 0)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

export function bytes(n: number): string {
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return `${i ? v.toFixed(1) : v} ${u[i]}`;
}

/**
 * A table in a scrolling region. On a phone (CSS, max-width 720px) each row becomes a card of
 * "column: value" lines, so every column shows without sideways scrolling: the column names are
 * copied onto the cells as data-label after each render.
 */
export function Table({ head, children, label }: { head: ReactNode[]; children: ReactNode; label: string }) {
  const ref = useRef<HTMLTableElement>(null);
  useEffect(() => {
    const names = Array.from(ref.current?.tHead?.rows[0]?.cells ?? [], (c) => c.textContent ?? '');
    for (const row of Array.from(ref.current?.tBodies[0]?.rows ?? [])) {
      Array.from(row.cells).forEach((cell, i) => { if (cell.colSpan === 1 && names[i]) cell.dataset.label = names[i]; });
    }
  });
  return (
    <div className="table-wrap" role="region" aria-label={label} tabIndex={0}>
      <table ref={ref}>
        <thead><tr>{head.map((h, i) => <th key={i} scope="col">{h}</th>)}</tr></thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
