/**
 * The "try it" form's explanation: POST …/explain for the row just predicted, drawn as a waterfall
 * from the base value through each column's Shapley value (largest first) to the prediction.
 */
import { useState } from 'react';
import type { Explanation, ExplainResponse } from '../../src/sdk/index.js';
import { client, message } from './api.js';
import { fmt } from './charts.js';
import { ErrorBox } from './ui.js';

const METHODS: Record<string, string> = {
  tree_shap_interventional: 'exact TreeSHAP (interventional)',
  kernel_shap_exact: 'KernelSHAP over every coalition (exact)',
  kernel_shap_sampled: 'KernelSHAP, sampled coalitions (approximate)',
};

/** A button that explains `row` on the endpoint, then its waterfall. */
export function ExplainRow({ endpoint, row }: { endpoint: string; row: Record<string, unknown> }) {
  const [answer, setAnswer] = useState<ExplainResponse>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const explain = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setAnswer(await client.endpoints.explain(endpoint, [row]));
    } catch (err) {
      setAnswer(undefined);
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };
  const e = answer?.explanations[0];
  return (
    <div className="explanation">
      <button type="button" onClick={explain} disabled={busy}>{busy ? 'Explaining…' : 'Why? (explain)'}</button>
      <ErrorBox error={error} />
      {e && answer && (
        <>
          <Waterfall e={e} />
          <p className="muted small">
            {METHODS[answer.method] ?? answer.method} against {answer.backgroundRows} background rows · {e.output}{e.class !== undefined ? ` of '${e.class}'` : ''} · v{answer.version}
          </p>
        </>
      )}
    </div>
  );
}

/** Base value, each column's push (largest first, positive right in green, negative left in red), and the prediction they reach. */
export function Waterfall({ e }: { e: Explanation }) {
  const entries = Object.entries(e.values).sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
  const steps: Array<{ label: string; from: number; to: number; kind: 'base' | 'up' | 'down' | 'total' }> = [{ label: 'base value', from: 0, to: e.baseValue, kind: 'base' }];
  let at = e.baseValue;
  for (const [label, v] of entries) {
    steps.push({ label, from: at, to: at + v, kind: v >= 0 ? 'up' : 'down' });
    at += v;
  }
  steps.push({ label: 'prediction', from: 0, to: e.prediction, kind: 'total' });
  const ends = steps.flatMap((s) => [s.from, s.to]);
  let lo = Math.min(...ends);
  let hi = Math.max(...ends);
  if (hi - lo < 1e-12) hi = lo + 1;
  const W = 480;
  const left = 130;
  const right = 70;
  const rowH = 20;
  const H = steps.length * rowH + 8;
  const X = (v: number) => left + ((v - lo) / (hi - lo)) * (W - left - right);
  const colors = { base: '#6b7280', up: '#16a34a', down: '#dc2626', total: '#2563eb' };
  return (
    <figure className="chart waterfall" data-testid="explanation">
      <figcaption>Why: from the base value to the prediction</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label="Explanation waterfall">
        <line x1={X(0 < lo ? lo : 0 > hi ? hi : 0)} x2={X(0 < lo ? lo : 0 > hi ? hi : 0)} y1={0} y2={H} className="grid" />
        {steps.map((s, i) => {
          const y = i * rowH + 4;
          const x0 = X(Math.min(s.from, s.to));
          const w = Math.max(1, Math.abs(X(s.to) - X(s.from)));
          const delta = s.kind === 'up' || s.kind === 'down' ? s.to - s.from : s.to;
          return (
            <g key={s.label} data-kind={s.kind}>
              <text x={left - 6} y={y + 13} textAnchor="end" className="tick">{s.label}</text>
              <rect x={x0} y={y} width={w} height={rowH - 6} fill={colors[s.kind]}><title>{`${s.label}: ${fmt(delta)}`}</title></rect>
              <text x={W - right + 6} y={y + 13} className="tick">{s.kind === 'up' ? '+' : ''}{fmt(delta, 3)}</text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
