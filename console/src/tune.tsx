/** Tuning: the search settings and space editor of the tune form, and a tune job's live trial table. */
import { useState } from 'react';
import type { Job, SearchDimension, Tuning } from '../../src/sdk/index.js';
import { client, useLoad } from './api.js';
import { Scatter, fmt } from './charts.js';
import { Link } from './router.js';
import { Status, Table } from './ui.js';

export const CLASSIFICATION_METRICS = ['accuracy', 'precision', 'recall', 'f1', 'logLoss', 'rocAuc'];
export const REGRESSION_METRICS = ['r2', 'mse', 'rmse', 'mae'];
const COMMON_PATHS = ['model.kind', 'model.maxDepth', 'model.nEstimators', 'model.maxIter', 'model.learningRate', 'model.C', 'model.alpha', 'model.hidden', 'training.learningRate', 'training.epochs', 'training.batchSize'];
const OTHER = '__other';

export interface SpaceRow {
  id: number;
  path: string;
  other: string;
  kind: 'choices' | 'range';
  values: string;
  min: string;
  max: string;
  log: boolean;
  integer: boolean;
}

export interface TuneSettings {
  strategy: 'grid' | 'random' | 'halving';
  trials: string;
  cv: string;
  metric: string;
  rows: SpaceRow[];
  /** Whether the person changed the space; until then it follows the base model's kind. */
  edited: boolean;
}

let nextId = 1;
const newRow = (path = 'model.maxDepth', values = '2, 4, 8'): SpaceRow => ({ id: nextId++, path, other: '', kind: 'choices', values, min: '', max: '', log: false, integer: false });

/** The main knob of each kind, three values each: a grid of 3 distinct trials that suits the model. */
const DEFAULT_SPACE: Record<string, [string, string]> = {
  random_forest: ['model.maxDepth', '3, 6, 12'],
  gradient_boosting: ['model.learningRate', '0.03, 0.1, 0.3'],
  logistic_regression: ['model.C', '0.1, 1, 10'],
  linear_regression: ['model.alpha', '0.1, 1, 10'],
  mlp: ['training.learningRate', '0.001, 0.01, 0.1'],
  cnn: ['training.learningRate', '0.001, 0.01, 0.1'],
};

export function defaultRows(kind: string): SpaceRow[] {
  const [path, values] = DEFAULT_SPACE[kind] ?? ['model.maxDepth', '3, 6, 12'];
  return [newRow(path, values)];
}

export function useTuneSettings(kind: string) {
  // A grid over the base kind's main knob: every trial distinct, as many trials as points.
  return useState<TuneSettings>(() => ({ strategy: 'grid', trials: '', cv: '3', metric: '', rows: defaultRows(kind), edited: false }));
}

/** One choice typed by a person: numbers, true/false and JSON become values, other text stays text. */
function choice(s: string, path: string): unknown {
  if (path === 'model.hidden' && /^[\d\s]+$/.test(s)) return s.trim().split(/\s+/).map(Number);
  if (s !== '' && Number.isFinite(Number(s))) return Number(s);
  if (s === 'true' || s === 'false' || /^[[{"]/.test(s)) {
    try { return JSON.parse(s); } catch { /* plain text */ }
  }
  return s;
}

/** The `space` of the tune request from the editor's rows; an error message when a row is incomplete. */
export function buildSpace(rows: SpaceRow[]): Record<string, SearchDimension> | string {
  const space: Record<string, SearchDimension> = {};
  for (const [i, r] of rows.entries()) {
    const path = (r.path === OTHER ? r.other : r.path).trim();
    if (!path) return `Search space row ${i + 1}: give the parameter path, e.g. model.maxDepth.`;
    if (r.kind === 'choices') {
      const text = r.values.trim();
      if (text.startsWith('[')) {
        try {
          const list = JSON.parse(text);
          if (Array.isArray(list) && list.length) { space[path] = list; continue; }
        } catch { /* below */ }
        return `Search space row ${i + 1} (${path}): '${text}' is not a JSON list.`;
      }
      const values = text.split(',').map((s) => s.trim()).filter(Boolean).map((s) => choice(s, path));
      if (!values.length) return `Search space row ${i + 1} (${path}): give at least one value (comma-separated).`;
      space[path] = values;
    } else {
      const min = Number(r.min);
      const max = Number(r.max);
      if (r.min.trim() === '' || r.max.trim() === '' || !Number.isFinite(min) || !Number.isFinite(max)) return `Search space row ${i + 1} (${path}): a range needs numbers for min and max.`;
      space[path] = { min, max, ...(r.log ? { log: true } : {}), ...(r.integer ? { integer: true } : {}) };
    }
  }
  return space;
}

/** How many points a grid over the rows has (a range counts its gridPoints, 3 by default); undefined when a row is incomplete. */
export function gridSize(rows: SpaceRow[]): number | undefined {
  const space = buildSpace(rows);
  if (typeof space === 'string') return undefined;
  return Object.values(space).reduce<number>((n, d) => n * (Array.isArray(d) ? new Set(d.map((v) => JSON.stringify(v))).size : d.gridPoints ?? 3), 1);
}

/** The tune fieldsets of the job form: strategy, trials, folds, metric, and the search space rows. */
export function TuneFields({ settings, onChange }: { settings: TuneSettings; onChange: (s: TuneSettings) => void }) {
  const set = (patch: Partial<TuneSettings>) => onChange({ ...settings, ...patch, edited: settings.edited || patch.rows !== undefined });
  const setRow = (id: number, patch: Partial<SpaceRow>) => set({ rows: settings.rows.map((r) => (r.id === id ? { ...r, ...patch } : r)) });
  return (
    <>
      <fieldset>
        <legend>Search</legend>
        <label>Strategy
          <select name="strategy" value={settings.strategy} onChange={(e) => set({ strategy: e.target.value as TuneSettings['strategy'] })}>
            <option value="random">random</option>
            <option value="grid">grid (every combination)</option>
            <option value="halving">successive halving</option>
          </select>
        </label>
        <label>Trials (at most) <input name="trials" type="number" min="1" max="200" value={settings.trials} placeholder={settings.strategy === 'grid' ? `every point (${gridSize(settings.rows) ?? '?'})` : '10'} onChange={(e) => set({ trials: e.target.value })} /></label>
        <label>Cross-validation folds <input name="cv" type="number" min="0" max="20" value={settings.cv} onChange={(e) => set({ cv: e.target.value })} aria-describedby="cv-hint" />
          <span id="cv-hint" className="muted small">0: one held-out validation split</span>
        </label>
        <label>Metric to optimise
          <select name="metric" value={settings.metric} onChange={(e) => set({ metric: e.target.value })}>
            <option value="">default (accuracy or r2)</option>
            <optgroup label="Classification">{CLASSIFICATION_METRICS.map((m) => <option key={m} value={m}>{m}</option>)}</optgroup>
            <optgroup label="Regression">{REGRESSION_METRICS.map((m) => <option key={m} value={m}>{m}</option>)}</optgroup>
          </select>
        </label>
      </fieldset>
      <fieldset className="space">
        <legend>Search space</legend>
        <p className="muted small space-hint">Each row is a parameter of the train spec above: a list of choices (comma-separated; numbers stay numbers; for
          model.hidden, layers as space-separated units: <code>16, 32 16</code>) or a numeric range.</p>
        {settings.rows.map((r, i) => (
          <div className="space-row" key={r.id} role="group" aria-label={`search space row ${i + 1}`}>
            <label>Parameter
              <select name={`spacePath-${i}`} value={r.path} onChange={(e) => setRow(r.id, { path: e.target.value })}>
                {COMMON_PATHS.map((p) => <option key={p} value={p}>{p}</option>)}
                <option value={OTHER}>other…</option>
              </select>
            </label>
            {r.path === OTHER && <label>Path <input name={`spaceOther-${i}`} value={r.other} placeholder="model.minSamplesLeaf" onChange={(e) => setRow(r.id, { other: e.target.value })} required /></label>}
            <label>Kind
              <select name={`spaceKind-${i}`} value={r.kind} onChange={(e) => setRow(r.id, { kind: e.target.value as SpaceRow['kind'] })}>
                <option value="choices">choices</option>
                <option value="range">range</option>
              </select>
            </label>
            {r.kind === 'choices' ? (
              <label className="wide">Values (comma-separated) <input name={`spaceValues-${i}`} value={r.values} onChange={(e) => setRow(r.id, { values: e.target.value })} /></label>
            ) : (
              <>
                <label>Min <input name={`spaceMin-${i}`} type="number" step="any" value={r.min} onChange={(e) => setRow(r.id, { min: e.target.value })} /></label>
                <label>Max <input name={`spaceMax-${i}`} type="number" step="any" value={r.max} onChange={(e) => setRow(r.id, { max: e.target.value })} /></label>
                <label className="check"><input name={`spaceLog-${i}`} type="checkbox" checked={r.log} onChange={(e) => setRow(r.id, { log: e.target.checked })} /> log scale</label>
                <label className="check"><input name={`spaceInteger-${i}`} type="checkbox" checked={r.integer} onChange={(e) => setRow(r.id, { integer: e.target.checked })} /> whole numbers</label>
              </>
            )}
            <button type="button" className="secondary" disabled={settings.rows.length === 1} aria-label={`Remove row ${i + 1}`} onClick={() => set({ rows: settings.rows.filter((x) => x.id !== r.id) })}>Remove</button>
          </div>
        ))}
        <div><button type="button" className="secondary" onClick={() => set({ rows: [...settings.rows, newRow('model.kind', '')] })}>Add parameter</button></div>
      </fieldset>
    </>
  );
}

interface Row {
  candidate: number;
  rung: number;
  budget?: number;
  job: string;
  status?: string;
  score?: number;
  error?: string;
  params: Record<string, unknown>;
}

interface TuneJobSpec {
  candidates?: Array<{ params: Record<string, unknown> }>;
  metric?: string;
  strategy?: string;
  higherIsBetter?: boolean;
  eta?: number;
}

const paramText = (p: Record<string, unknown>) => Object.entries(p).map(([k, v]) => `${k} = ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ') || '–';

/** A halving rung's budget fraction (as the tune job plans it); 1 for grid and random. */
function budgetOf(spec: TuneJobSpec, rung: number): number {
  if (spec.strategy !== 'halving') return 1;
  const n = spec.candidates?.length ?? 1;
  const eta = spec.eta ?? 3;
  const rungs = Math.max(1, Math.floor(Math.log(n) / Math.log(eta) + 1e-9) + 1);
  return eta ** (rung - (rungs - 1));
}

/** The trial table of a tune job: its child train jobs while it runs, `metrics.tuning` once done. */
export function TuneTrials({ job }: { job: Job }) {
  const done = ['succeeded', 'failed', 'cancelled'].includes(job.status);
  const tuning = (job.metrics as { tuning?: Tuning }).tuning;
  const spec = job.spec as TuneJobSpec;
  const children = useLoad(
    () => client.jobs.list({ type: 'train', limit: 1000 }).then((all) => all.filter((j) => j.parent === job.id)),
    [job.id, job.status],
    done ? undefined : 1500,
  );
  const live = new Map((children.data ?? []).map((c) => [c.id, c]));
  const rows: Row[] = tuning
    ? tuning.trials.map((t) => ({ ...t, status: live.get(t.job)?.status ?? t.status }))
    : (children.data ?? []).flatMap((c) => {
      const m = /-trial-(\d+)-r(\d+)$/.exec(c.name ?? '');
      if (!m) return [];
      const candidate = Number(m[1]);
      const rung = Number(m[2]);
      const score = (c.metrics as { trial?: { score?: unknown } }).trial?.score;
      return [{ candidate, rung, budget: budgetOf(spec, rung), job: c.id, status: c.status, score: typeof score === 'number' ? score : undefined, error: c.error ?? undefined, params: spec.candidates?.[candidate]?.params ?? {} }];
    }).sort((a, b) => a.rung - b.rung || a.candidate - b.candidate);
  const final = (children.data ?? []).find((c) => c.name?.endsWith('-final'));
  const metric = tuning?.metric ?? spec.metric ?? 'score';
  const higher = spec.higherIsBetter ?? true;
  const scored = rows.filter((r) => r.score !== undefined);
  const leader = scored.sort((a, b) => b.rung - a.rung || (higher ? b.score! - a.score! : a.score! - b.score!))[0];
  const best = tuning ? { params: tuning.best.params, score: tuning.best.score, job: tuning.best.job } : leader;
  const finished = rows.filter((r) => r.status && ['succeeded', 'failed', 'cancelled'].includes(r.status)).length;
  return (
    <section aria-labelledby="trials-heading" data-testid="tune-trials">
      <h2 id="trials-heading">Trials <small className="muted">{finished} of {rows.length || spec.candidates?.length || '?'} done · {spec.strategy ?? ''} search on {metric}</small></h2>
      {best ? (
        <p className="best" data-testid="tune-best" aria-live="polite">
          {tuning ? 'Best candidate' : 'Best so far'}: <strong>{paramText(best.params)}</strong>
          {best.score !== undefined && <> ({metric} {fmt(best.score)})</>} · trial <Link to={`/jobs/${best.job}`}>{best.job}</Link>
          {final && <> · final training <Link to={`/jobs/${final.id}`}>{final.id}</Link> <Status status={final.status} /></>}
        </p>
      ) : <p className="muted">No trial has a score yet.</p>}
      <TrialCharts rows={rows} metric={metric} best={best?.job} />
      <Table label="trials" head={['Candidate', 'Parameters', 'Rung', 'Budget', 'Status', metric, 'Trial job']}>
        {rows.length === 0 && <tr><td colSpan={7} className="muted">{children.error ?? 'No trials started yet.'}</td></tr>}
        {rows.map((r) => (
          <tr key={r.job} className={best?.job === r.job ? 'best-row' : undefined}>
            <td>{r.candidate}</td><td className="params">{paramText(r.params)}</td><td>{r.rung}</td>
            <td>{r.budget === undefined ? '–' : `${Math.round(r.budget * 100)}%`}</td>
            <td>{r.status ? <Status status={r.status} /> : '–'}{r.error ? <span className="muted small"> {r.error}</span> : null}</td>
            <td>{r.score === undefined ? '–' : fmt(r.score)}</td>
            <td><Link to={`/jobs/${r.job}`}>{r.job}</Link></td>
          </tr>
        ))}
      </Table>
    </section>
  );
}

/** Score against each searched parameter: one scatter per parameter, the best trial in green (last rung only for halving). */
function TrialCharts({ rows, metric, best }: { rows: Row[]; metric: string; best?: string }) {
  const lastRung = Math.max(0, ...rows.map((r) => r.rung));
  const scored = rows.filter((r) => r.score !== undefined && (r.rung === lastRung || rows.every((x) => x.rung === 0)));
  const paths = [...new Set(rows.flatMap((r) => Object.keys(r.params)))];
  if (!paths.length || !scored.length) return null;
  return (
    <div className="charts" data-testid="trial-charts">
      {paths.map((p) => (
        <Scatter key={p} title={`${metric} against ${p}`} yLabel={metric}
          points={scored.filter((r) => p in r.params).map((r) => ({ x: r.params[p], y: r.score!, best: r.job === best }))} />
      ))}
    </div>
  );
}
