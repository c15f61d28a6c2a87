/** Models: list, versions side by side, one version (confusion matrix, importance, stage, download, deploy). */
import { useState, type FormEvent } from 'react';
import type { JobMetrics, ModelVersion, Stage } from '../../src/sdk/index.js';
import { client, message, useLoad } from './api.js';
import { Bars, HeatMap, fmt } from './charts.js';
import { LOWER_IS_BETTER, MetricGroups, TEST_METRICS, testOf } from './metric-tiles.js';
import { PreprocessingView } from './preprocessing.js';
import { OptimizationView, OptimizeForm } from './optimization.js';
import { Link, navigate } from './router.js';
import { ErrorBox, Loading, Status, Table, ago, bytes } from './ui.js';

const STAGES: Stage[] = ['none', 'staging', 'production', 'archived'];
const TRAINING = ['epochs', 'trainSeconds', 'trainSamplesPerSecond', 'trainRows', 'testRows'];

function ImportModel({ onDone }: { onDone: () => void }) {
  const [file, setFile] = useState<File>();
  const [name, setName] = useState('');
  const [labels, setLabels] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    try {
      const v = await client.models.import(name, file, labels ? { labels } : {});
      setError(undefined);
      onDone();
      navigate(`/models/${encodeURIComponent(v.name)}/versions/${v.version}`);
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card row" onSubmit={submit} aria-label="import an ONNX model">
      <label>Import an ONNX model <input type="file" name="onnx" accept=".onnx" onChange={(e) => { const f = e.target.files?.[0]; setFile(f); if (f && !name) setName(f.name.replace(/\.onnx$/i, '')); }} /></label>
      <label>Model name <input name="modelName" value={name} onChange={(e) => setName(e.target.value)} required /></label>
      <label>Class labels (optional) <input name="labels" value={labels} placeholder="a,b,c" onChange={(e) => setLabels(e.target.value)} /></label>
      <button type="submit" disabled={!file || busy}>Import</button>
      <ErrorBox error={error} />
    </form>
  );
}

export function ModelsPage() {
  const { data, error, reload } = useLoad(() => client.models.list(), []);
  return (
    <section>
      <h1>Models</h1>
      <ImportModel onDone={reload} />
      <ErrorBox error={error} />
      {!data ? <Loading /> : (
        <Table label="models" head={['Model', 'Latest', 'Versions', 'Production', 'Staging', 'Updated']}>
          {data.length === 0 && <tr><td colSpan={6} className="muted">No models yet: <Link to="/jobs/new">train one</Link>.</td></tr>}
          {data.map((m) => (
            <tr key={m.id}>
              <td><Link to={`/models/${encodeURIComponent(m.name)}`}>{m.name}</Link></td><td>{m.latestVersion}</td><td>{m.versions}</td>
              <td>{m.stages.production.join(', ') || '–'}</td><td>{m.stages.staging.join(', ') || '–'}</td><td>{ago(m.updatedAt)}</td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}

export function ModelPage({ name }: { name: string }) {
  const { data, error, reload } = useLoad(() => client.models.versions(name), [name]);
  if (error) return <section><h1>{name}</h1><ErrorBox error={error} /></section>;
  if (!data) return <Loading />;
  const tests = data.map((v) => testOf(v.metrics as JobMetrics));
  const trainings = data.map((v) => ((v.metrics as JobMetrics).training ?? {}) as Record<string, unknown>);
  const testKeys = TEST_METRICS.filter((k) => tests.some((t) => typeof t[k] === 'number'));
  const trainingKeys = TRAINING.filter((k) => trainings.some((t) => typeof t[k] === 'number'));
  return (
    <section>
      <p className="crumbs"><Link to="/models">Models</Link> / {name}</p>
      <h1>{name}</h1>
      <h2>Versions side by side</h2>
      <Table label="versions" head={['', ...data.map((v) => <Link key={v.version} to={`/models/${encodeURIComponent(name)}/versions/${v.version}`}>version {v.version}</Link>)]}>
        <tr><th scope="row">stage</th>{data.map((v) => <td key={v.version}><StageSelect v={v} onChange={reload} /></td>)}</tr>
        <tr><th scope="row">kind</th>{data.map((v) => <td key={v.version}>{v.kind}</td>)}</tr>
        <tr><th scope="row">task</th>{data.map((v) => <td key={v.version}>{v.task}</td>)}</tr>
        {testKeys.map((k) => {
          const vals = tests.map((t) => t[k] as number | undefined);
          const higher = !LOWER_IS_BETTER.has(k);
          const best = vals.filter((x): x is number => typeof x === 'number').reduce((a, b) => (higher ? Math.max(a, b) : Math.min(a, b)), higher ? -Infinity : Infinity);
          return <tr key={k}><th scope="row">test {k}</th>{vals.map((x, i) => <td key={i} className={x === best && data.length > 1 ? 'best' : ''}>{fmt(x)}</td>)}</tr>;
        })}
        {trainingKeys.map((k) => <tr key={k}><th scope="row">{k}</th>{trainings.map((t, i) => <td key={i}>{fmt(t[k] as number | undefined)}</td>)}</tr>)}
        <tr><th scope="row">size</th>{data.map((v) => <td key={v.version}>{bytes(v.sizeBytes)}</td>)}</tr>
        <tr><th scope="row">created</th>{data.map((v) => <td key={v.version}>{ago(v.createdAt)}</td>)}</tr>
      </Table>
    </section>
  );
}

function StageSelect({ v, onChange }: { v: ModelVersion; onChange: () => void }) {
  const [error, setError] = useState<string>();
  return (
    <>
      <select aria-label={`stage of version ${v.version}`} value={v.stage} onChange={async (e) => {
        try {
          await client.models.setStage(v.name, v.version, e.target.value as Stage);
          setError(undefined);
          onChange();
        } catch (err) {
          setError(message(err));
        }
      }}>
        {STAGES.map((s) => <option key={s} value={s}>{s}</option>)}
      </select>
      <ErrorBox error={error} />
    </>
  );
}

async function download(v: ModelVersion): Promise<void> {
  const res = await client.models.artifact(v.name, v.version);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = `${v.name}-v${v.version}.onnx`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function VersionPage({ name, version }: { name: string; version: string }) {
  const { data: v, error, reload } = useLoad(() => client.models.version(name, version), [name, version]);
  const [endpoint, setEndpoint] = useState(name);
  const [deployError, setDeployError] = useState<string>();
  const [deploying, setDeploying] = useState(false);
  if (error) return <section><h1>{name} v{version}</h1><ErrorBox error={error} /></section>;
  if (!v) return <Loading />;
  const m = v.metrics as JobMetrics;
  const test = testOf(m);
  const cm = test.confusionMatrix as number[][] | undefined;
  const labels = (test.labels as string[] | undefined) ?? v.signature.labels ?? [];
  const fi = m.featureImportance as Array<{ feature: string; importance: number }> | undefined;
  const deploy = async (e: FormEvent) => {
    e.preventDefault();
    setDeploying(true);
    setDeployError(undefined);
    try {
      await client.endpoints.create({ name: endpoint, model: v.name, version: v.version });
      navigate(`/endpoints/${encodeURIComponent(endpoint)}`);
    } catch (err) {
      setDeployError(message(err));
      setDeploying(false);
    }
  };
  return (
    <section>
      <p className="crumbs"><Link to="/models">Models</Link> / <Link to={`/models/${encodeURIComponent(name)}`}>{name}</Link> / version {v.version}</p>
      <div className="row spread">
        <h1>{v.name} <small>version {v.version}</small> <Status status={v.stage} /></h1>
        <div className="row">
          <StageSelect v={v} onChange={reload} />
          <button type="button" onClick={() => download(v)}>Download ONNX</button>
        </div>
      </div>
      <p className="muted">{v.kind} · {v.task} · {v.source} · {bytes(v.sizeBytes)} · created {ago(v.createdAt)}
        {v.lineage.job && <> · from <Link to={`/jobs/${v.lineage.job}`}>job {v.lineage.job}</Link></>}</p>
      <form className="card row" onSubmit={deploy}>
        <label>Endpoint name <input name="endpointName" value={endpoint} onChange={(e) => setEndpoint(e.target.value)} required /></label>
        <button type="submit" disabled={deploying}>{deploying ? 'Deploying…' : 'Deploy this version'}</button>
        <ErrorBox error={deployError} />
      </form>
      <OptimizeForm v={v} />
      <OptimizationView v={v} />
      <h2>Metrics</h2>
      <MetricGroups metrics={m} />
      <div className="charts">
        {cm && labels.length > 0 && <figure className="chart"><figcaption>Confusion matrix on the test split (rows: true, columns: predicted)</figcaption><HeatMap matrix={cm} labels={labels} /></figure>}
        {fi && fi.length > 0 && <figure className="chart"><figcaption>Feature importance (permutation on the test split; negative: shuffling helped)</figcaption><Bars items={fi.slice(0, 20).map((f) => ({ label: f.feature, value: f.importance }))} /></figure>}
      </div>
      <PreprocessingView params={(v.lineage as { params?: unknown }).params} />
      <h2>Signature</h2>
      <Table label="signature inputs" head={['Input', 'Type', 'Nullable', 'Categories']}>
        {v.signature.inputs.map((i) => <tr key={i.name}><td>{i.name}</td><td>{i.type}</td><td>{i.nullable ? 'yes' : 'no'}</td><td>{i.categories?.join(', ') ?? ''}</td></tr>)}
        {!v.signature.inputs.length && v.signature.tensors.map((t) => <tr key={t.name}><td>{t.name}</td><td>{t.dtype} {JSON.stringify(t.shape)}</td><td /><td /></tr>)}
      </Table>
      {labels.length > 0 && <p className="muted">Labels: {labels.join(', ')}</p>}
    </section>
  );
}
