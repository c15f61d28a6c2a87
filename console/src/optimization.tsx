/**
 * A version's optimization, on its page: the trade-off of an optimized version (size, p50 latency
 * for one row and a batch, test metrics: the source and this version side by side, from
 * `metrics.source` and `lineage.optimizedFrom`), a distilled version's teacher, and a form that
 * submits an optimize job by any method (API.md "Model optimization").
 */
import { useState, type FormEvent } from 'react';
import type { ModelVersion, OptimizationMetrics, OptimizeRequest } from '../../src/sdk/index.js';
import { client, message } from './api.js';
import { fmt } from './charts.js';
import { LOWER_IS_BETTER, TEST_METRICS } from './metric-tiles.js';
import { Link, navigate } from './router.js';
import { ErrorBox, Table, bytes } from './ui.js';

const METHODS: { method: OptimizeRequest['method']; label: string }[] = [
  { method: 'quantize_dynamic', label: 'quantize_dynamic: int8 weights, activations quantized at run time' },
  { method: 'quantize_static', label: 'quantize_static: int8, calibrated on training rows' },
  { method: 'quantize_weights', label: 'quantize_weights: 8 or 4-bit weights (language models)' },
  { method: 'fp16', label: 'fp16: half-precision weights and ops' },
  { method: 'prune', label: 'prune: remove the smallest weights or neurons' },
];

/** "−12.5%" style change of b against a. */
function change(a: number, b: number): string {
  if (!a) return '';
  const r = (100 * (b - a)) / a;
  return `${r >= 0 ? '+' : '−'}${Math.abs(r).toFixed(1)}%`;
}

export function OptimizationView({ v }: { v: ModelVersion }) {
  const from = v.lineage.optimizedFrom;
  const teacher = v.lineage.teacher;
  const m = v.metrics as unknown as Partial<OptimizationMetrics>;
  const d = (v.metrics as { distillation?: { teacherTest?: Record<string, unknown> } }).distillation;
  if (!(from && m.source) && !teacher) return null;
  const src = m.source;
  const metricRows = from && src ? TEST_METRICS.filter((k) => typeof src.test?.[k] === 'number' && typeof m.test?.[k] === 'number') : [];
  return (
    <div data-testid="optimization">
      {from && src && m.latencyMs && <>
        <h2>Trade-off: {from.method} of <Link to={`/models/${encodeURIComponent(from.model)}/versions/${from.version}`}>version {from.version}</Link></h2>
        <Table label="optimization trade-off" head={['', `version ${from.version} (source)`, `version ${v.version} (${from.method})`, 'change']}>
          <tr><th scope="row">size</th><td>{bytes(src.sizeBytes)}</td><td>{bytes(m.sizeBytes!)}</td><td>{change(src.sizeBytes, m.sizeBytes!)}</td></tr>
          <tr><th scope="row">p50 latency, 1 row</th><td>{fmt(src.latencyMs.p50Row, 3)} ms</td><td>{fmt(m.latencyMs.p50Row, 3)} ms</td><td>{change(src.latencyMs.p50Row, m.latencyMs.p50Row)}</td></tr>
          <tr><th scope="row">p50 latency, {m.latencyMs.batchRows} rows</th><td>{fmt(src.latencyMs.p50Batch, 3)} ms</td><td>{fmt(m.latencyMs.p50Batch, 3)} ms</td><td>{change(src.latencyMs.p50Batch, m.latencyMs.p50Batch)}</td></tr>
          {metricRows.map((k) => {
            const a = src.test![k] as number;
            const b = m.test![k] as number;
            const worse = LOWER_IS_BETTER.has(k) ? b > a : b < a;
            return <tr key={k}><th scope="row">test {k}</th><td>{fmt(a)}</td><td>{fmt(b)}</td><td>{b - a >= 0 ? '+' : '−'}{fmt(Math.abs(b - a))}{worse ? ' (worse)' : ''}</td></tr>;
          })}
        </Table>
        <p className="muted">Measured by the optimize job on its node, source and result interleaved; test metrics on {m.optimization?.testRows ?? 0} held-out rows.</p>
      </>}
      {teacher && <>
        <h2>Distilled from <Link to={`/models/${encodeURIComponent(teacher.model)}/versions/${teacher.version}`}>{teacher.model} version {teacher.version}</Link></h2>
        <p className="muted">temperature {teacher.temperature} · alpha {teacher.alpha}
          {typeof d?.teacherTest?.accuracy === 'number' && <> · the teacher's test accuracy {fmt(d.teacherTest.accuracy as number)} on the same rows</>}</p>
      </>}
    </div>
  );
}

export function OptimizeForm({ v }: { v: ModelVersion }) {
  const [method, setMethod] = useState<OptimizeRequest['method']>('quantize_dynamic');
  const [bits, setBits] = useState<4 | 8>(8);
  const [sparsity, setSparsity] = useState('0.5');
  const [structured, setStructured] = useState(true);
  const [fineTune, setFineTune] = useState('0');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const spec: OptimizeRequest = { model: v.name, version: v.version, method };
    if (method === 'quantize_weights') spec.bits = bits;
    if (method === 'prune') {
      spec.sparsity = Number(sparsity);
      spec.structured = structured;
      if (Number(fineTune) > 0) spec.fineTuneEpochs = Number(fineTune);
    }
    try {
      const job = await client.jobs.optimize(spec);
      navigate(`/jobs/${job.id}`);
    } catch (err) {
      setError(message(err));
      setBusy(false);
    }
  };
  return (
    <form className="card row" onSubmit={submit} aria-label="optimize this version">
      <label>Optimize <select name="method" value={method} onChange={(e) => setMethod(e.target.value as OptimizeRequest['method'])}>
        {METHODS.map((x) => <option key={x.method} value={x.method}>{x.label}</option>)}
      </select></label>
      {method === 'quantize_weights' && <label>Bits <select name="bits" value={bits} onChange={(e) => setBits(Number(e.target.value) as 4 | 8)}><option value={8}>8</option><option value={4}>4</option></select></label>}
      {method === 'prune' && <>
        <label>Sparsity <input name="sparsity" type="number" min="0.05" max="0.95" step="0.05" value={sparsity} onChange={(e) => setSparsity(e.target.value)} /></label>
        <label><input name="structured" type="checkbox" checked={structured} onChange={(e) => setStructured(e.target.checked)} /> structured</label>
        <label>Fine-tuning epochs <input name="fineTuneEpochs" type="number" min="0" max="100" value={fineTune} onChange={(e) => setFineTune(e.target.value)} /></label>
      </>}
      <button type="submit" disabled={busy}>{busy ? 'Submitting…' : 'Optimize into a new version'}</button>
      <ErrorBox error={error} />
    </form>
  );
}
