/** Endpoints: list and deploy, one endpoint with traffic split, live requests/s and latency, and a "try it" form. */
import { useEffect, useState, type FormEvent } from 'react';
import type { Endpoint, PredictResponse, Signature } from '../../src/sdk/index.js';
import { client, message, useLoad } from './api.js';
import { Bars, LineChart, fmt } from './charts.js';
import { EndpointMonitoring } from './endpoint-monitoring.js';
import { ExplainRow } from './explain-waterfall.js';
import { Link, navigate } from './router.js';
import { sumOf } from './prom-text.js';
import { ChatPlayground, useServedKind } from './chat-playground.js';
import { LmMetrics } from './lm-metrics.js';
import { ErrorBox, Loading, Status, Table, ago } from './ui.js';

const pct = (ep: Endpoint) => {
  const total = ep.traffic.reduce((a, t) => a + t.weight, 0) || 1;
  return ep.traffic.map((t) => `v${t.version} ${Math.round((t.weight / total) * 100)}%`).join(' · ');
};

export function EndpointsPage() {
  const { data, error } = useLoad(() => client.endpoints.list(), [], 3000);
  return (
    <section>
      <h1>Endpoints</h1>
      <Deploy />
      <ErrorBox error={error} />
      {!data ? <Loading /> : (
        <Table label="endpoints" head={['Endpoint', 'Model', 'Status', 'Traffic', 'Replicas', 'Updated']}>
          {data.length === 0 && <tr><td colSpan={6} className="muted">No endpoints yet.</td></tr>}
          {data.map((e) => (
            <tr key={e.id}>
              <td><Link to={`/endpoints/${encodeURIComponent(e.name)}`}>{e.name}</Link></td><td>{e.model}</td><td><Status status={e.status} /></td>
              <td>{pct(e)}</td><td>{e.replicas.ready}/{e.replicas.current}</td><td>{ago(e.updatedAt)}</td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}

function Deploy() {
  const models = useLoad(() => client.models.list(), []);
  const [model, setModel] = useState('');
  const versions = useLoad(() => (model ? client.models.versions(model) : Promise.resolve([])), [model]);
  const [version, setVersion] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<string>();
  useEffect(() => { if (!model && models.data?.length) setModel(models.data[0]!.name); }, [models.data, model]);
  useEffect(() => { if (versions.data?.length) setVersion(String(versions.data[versions.data.length - 1]!.version)); }, [versions.data]);
  if (!models.data?.length) return null;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const ep = await client.endpoints.create({ name: name || model, model, version: Number(version) });
      navigate(`/endpoints/${encodeURIComponent(ep.name)}`);
    } catch (err) {
      setError(message(err));
    }
  };
  return (
    <form className="card row" onSubmit={submit}>
      <label>Model <select name="model" value={model} onChange={(e) => setModel(e.target.value)}>{models.data.map((m) => <option key={m.id}>{m.name}</option>)}</select></label>
      <label>Version <select name="version" value={version} onChange={(e) => setVersion(e.target.value)}>{versions.data?.map((v) => <option key={v.version} value={v.version}>{v.version} ({v.stage})</option>)}</select></label>
      <label>Endpoint name <input name="endpointName" value={name} placeholder={model} onChange={(e) => setName(e.target.value)} /></label>
      <button type="submit">Deploy</button>
      <ErrorBox error={error} />
    </form>
  );
}

export function EndpointPage({ name }: { name: string }) {
  const { data: ep, error, setData } = useLoad(() => client.endpoints.get(name), [name], 3000);
  const [deleteError, setDeleteError] = useState<string>();
  const lm = useServedKind(ep) === 'causal_lm';
  if (error && !ep) return <section><h1>{name}</h1><ErrorBox error={error} /></section>;
  if (!ep) return <Loading />;
  return (
    <section>
      <p className="crumbs"><Link to="/endpoints">Endpoints</Link> / {ep.name}</p>
      <div className="row spread">
        <h1>{ep.name} <Status status={ep.status} /></h1>
        <button type="button" className="danger" onClick={async () => {
          if (!confirm(`Delete endpoint ${ep.name}?`)) return;
          try { await client.endpoints.delete(ep.name); navigate('/endpoints'); } catch (err) { setDeleteError(message(err)); }
        }}>Delete</button>
      </div>
      <ErrorBox error={deleteError ?? ep.error ?? undefined} />
      <p className="muted">Model <Link to={`/models/${encodeURIComponent(ep.model)}`}>{ep.model}</Link> · {pct(ep)} · replicas {ep.replicas.ready} ready of {ep.replicas.current} (min {ep.replicas.min}, max {ep.replicas.max}) · <code>{lm ? 'POST /openai/v1/chat/completions (model: ' + ep.name + ')' : `POST ${ep.urls.predict}`}</code></p>
      <div className="grid2">
        {lm ? <ChatPlayground ep={ep} /> : <TryIt ep={ep} />}
        <Traffic ep={ep} onChange={setData} />
      </div>
      <LiveMetrics name={ep.name} />
      {lm ? <LmMetrics name={ep.name} /> : <EndpointMonitoring ep={ep} onChange={setData} />}
      <h2>Versions</h2>
      <Table label="versions serving" head={['Version', 'Weight', 'Replicas', 'Ready', 'Queue', 'In flight']}>
        {ep.versions.map((v) => <tr key={v.version}><td><Link to={`/models/${encodeURIComponent(ep.model)}/versions/${v.version}`}>{v.version}</Link></td><td>{v.weight}</td><td>{v.replicas}</td><td>{v.ready}</td><td>{v.queueDepth}</td><td>{v.inflight}</td></tr>)}
      </Table>
      <h2>Events</h2>
      <ul className="events">{ep.events.slice(-15).reverse().map((e, i) => <li key={i}><span className="muted">{ago(e.at)}</span> {e.message}</li>)}</ul>
    </section>
  );
}

function Traffic({ ep, onChange }: { ep: Endpoint; onChange: (e: Endpoint) => void }) {
  const versions = useLoad(() => client.models.versions(ep.model), [ep.model]);
  const primary = ep.traffic[0]!.version;
  const [other, setOther] = useState<number | undefined>(ep.traffic[1]?.version);
  const total = ep.traffic.reduce((a, t) => a + t.weight, 0) || 1;
  const [share, setShare] = useState(Math.round(((ep.traffic[1]?.weight ?? 0) / total) * 100));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const candidates = (versions.data ?? []).map((v) => v.version).filter((v) => v !== primary);
  const apply = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const traffic = other === undefined || share === 0 ? [{ version: primary, weight: 100 }] : share === 100 ? [{ version: other, weight: 100 }] : [{ version: primary, weight: 100 - share }, { version: other, weight: share }];
      onChange(await client.endpoints.update(ep.name, { traffic }));
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="card">
      <h2>Traffic split</h2>
      {candidates.length === 0 ? <p className="muted">Only version {primary} exists; train another version to run a canary.</p> : (
        <>
          <label>Second version
            <select name="canary" value={other ?? ''} onChange={(e) => setOther(e.target.value ? Number(e.target.value) : undefined)}>
              <option value="">(none)</option>
              {candidates.map((v) => <option key={v} value={v}>version {v}</option>)}
            </select>
          </label>
          <label>Share of version {other ?? '…'}: {share}% (version {primary}: {100 - share}%)
            <input type="range" name="share" min={0} max={100} step={5} value={share} disabled={other === undefined} onChange={(e) => setShare(Number(e.target.value))} />
          </label>
          <button type="button" onClick={apply} disabled={busy || other === undefined}>{busy ? 'Switching…' : 'Apply split'}</button>
        </>
      )}
      <ErrorBox error={error} />
    </div>
  );
}

interface Sample { t: number; rps: number; latencyMs?: number }
interface History { first: number; last?: { t: number; count: number; sum: number }; samples: Sample[] }

/** Samples per endpoint, kept for the tab's life: leaving the page and coming back keeps the curve. */
const HISTORY = new Map<string, History>();

/**
 * Polls the endpoint's Prometheus metrics and draws requests/s and mean latency. The totals since
 * the endpoint started show at once; an idle interval is 0 requests/s and no latency point (not a
 * latency of 0), and the chart says since when it is idle.
 */
function LiveMetrics({ name }: { name: string }) {
  const [, redraw] = useState(0);
  const [totals, setTotals] = useState<{ count: number; sum: number }>();
  useEffect(() => {
    let stopped = false;
    const h = HISTORY.get(name) ?? { first: Date.now(), samples: [] };
    HISTORY.set(name, h);
    const tick = async () => {
      try {
        const text = await client.endpoints.metrics(name);
        const count = sumOf(text, 'aiaas_endpoint_request_duration_seconds_count');
        const sum = sumOf(text, 'aiaas_endpoint_request_duration_seconds_sum');
        const t = Date.now();
        const prev = h.last;
        h.last = { t, count, sum };
        if (prev && count >= prev.count) {
          const dc = count - prev.count;
          const dt = (t - prev.t) / 1000;
          h.samples = [...h.samples, { t: (t - h.first) / 1000, rps: dt > 0 ? dc / dt : 0, ...(dc > 0 ? { latencyMs: ((sum - prev.sum) / dc) * 1000 } : {}) }].slice(-180);
        }
        if (!stopped) { setTotals({ count, sum }); redraw((n) => n + 1); }
      } catch { /* the endpoint may be going away */ }
    };
    void tick();
    const timer = setInterval(tick, 2000);
    return () => { stopped = true; clearInterval(timer); };
  }, [name]);
  const samples = HISTORY.get(name)?.samples ?? [];
  const served = totals?.count ?? 0;
  const idleFrom = [...samples].reverse().findIndex((p) => p.rps > 0);
  const idleSeconds = samples.length && idleFrom !== 0 ? Math.round(samples[samples.length - 1]!.t - (idleFrom < 0 ? samples[0]!.t : samples[samples.length - 1 - idleFrom]!.t)) : 0;
  const note = (
    <p className="muted small" data-testid="traffic-note">
      {served === 0 ? 'No requests yet.' : `${served} requests since the endpoint started · mean ${fmt((totals!.sum / served) * 1000, 3)} ms`}
      {served > 0 && idleSeconds > 0 ? ` · idle for ${idleSeconds} s` : ''}
    </p>
  );
  const waiting = served > 0 ? 'Measuring: the first interval is drawn within 2 s.' : 'No data yet: no requests so far.';
  return (
    <div className="charts">
      <LineChart title="Requests per second" xLabel="s" empty={waiting} note={note}
        series={samples.length ? [{ name: 'requests/s', points: samples.map((p) => [p.t, p.rps]) }] : []} height={150} />
      <LineChart title="Mean latency (ms)" xLabel="s" empty={served > 0 ? 'Idle: no request in the intervals shown.' : 'No data yet: no requests so far.'}
        series={samples.some((p) => p.latencyMs !== undefined) ? [{ name: 'latency ms', points: samples.filter((p) => p.latencyMs !== undefined).map((p) => [p.t, p.latencyMs!]) }] : []} height={150} />
    </div>
  );
}

/** A form generated from the deployed version's signature; shows the prediction. */
function TryIt({ ep }: { ep: Endpoint }) {
  const version = ep.traffic[0]?.version;
  const sig = useLoad(() => (version ? client.models.version(ep.model, version).then((v) => v.signature) : Promise.resolve(undefined)), [ep.model, version]);
  const [values, setValues] = useState<Record<string, string>>({});
  const [result, setResult] = useState<PredictResponse & { row?: Record<string, unknown> }>();
  const [error, setError] = useState<string>();
  const s: Signature | undefined = sig.data;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!s) return;
    setError(undefined);
    const row: Record<string, unknown> = {};
    for (const i of s.inputs) {
      const v = values[i.name] ?? '';
      if (v === '') row[i.name] = null;
      else if (i.type === 'number' || i.type === 'integer') row[i.name] = Number(v);
      else if (i.type === 'boolean') row[i.name] = v === 'true';
      else row[i.name] = v;
    }
    try {
      setResult({ ...await client.endpoints.predict(ep.name, [row]), row });
    } catch (err) {
      setResult(undefined);
      setError(message(err));
    }
  };
  const p = result?.predictions[0];
  return (
    <form className="card form tryit" onSubmit={submit} aria-label="try it">
      <h2>Try it</h2>
      {!s ? <Loading /> : !s.inputs.length ? <p className="muted">This model takes raw tensors (imported ONNX); use the API's /v2 infer route.</p> : s.inputs.map((i) => (
        <label key={i.name}>{i.name} <small className="muted">{i.type}{i.nullable ? '' : ', required'}</small>
          {i.categories?.length ? (
            <select name={i.name} value={values[i.name] ?? ''} onChange={(e) => setValues({ ...values, [i.name]: e.target.value })}>
              <option value="">(missing)</option>
              {i.categories.map((c) => <option key={c}>{c}</option>)}
            </select>
          ) : i.type === 'boolean' ? (
            <select name={i.name} value={values[i.name] ?? ''} onChange={(e) => setValues({ ...values, [i.name]: e.target.value })}>
              <option value="">(missing)</option><option value="true">true</option><option value="false">false</option>
            </select>
          ) : (
            <input name={i.name} type={i.type === 'number' || i.type === 'integer' ? 'number' : 'text'} step="any" required={!i.nullable} value={values[i.name] ?? ''} onChange={(e) => setValues({ ...values, [i.name]: e.target.value })} />
          )}
        </label>
      ))}
      <button type="submit" disabled={!s?.inputs.length || ep.status !== 'ready'}>Predict</button>
      <ErrorBox error={error} />
      {p && (
        <div className="prediction" data-testid="prediction" aria-live="polite">
          <p>Prediction: <strong>{p.label !== undefined ? String(p.label) : fmt(p.value)}</strong> <span className="muted">({result!.model} v{result!.version})</span></p>
          {p.probabilities && <Bars items={p.probabilities.map((q, k) => ({ label: String(s?.labels?.[k] ?? k), value: q }))} max={1} format={(n) => `${(n * 100).toFixed(1)}%`} />}
          <ExplainRow key={JSON.stringify(result!.row)} endpoint={ep.name} row={result!.row!} />
        </div>
      )}
    </form>
  );
}
