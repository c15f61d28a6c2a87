/** Jobs: the queue, the training and tune forms, and a live page per job (SSE: progress, curves, logs). */
import { useEffect, useState, type FormEvent, type ReactElement } from 'react';
import type { Job, JobMetrics, ModelKind, TrainRequest, TuneRequest } from '../../src/sdk/index.js';
import { client, message, useLoad } from './api.js';
import { LineChart, Progress, fmt, type Series } from './charts.js';
import { Link, navigate, useLocation } from './router.js';
import { ErrorBox, Loading, Status, Table, ago } from './ui.js';
import { MetricGroups } from './metric-tiles.js';
import { TuneFields, TuneTrials, buildSpace, defaultRows, useTuneSettings } from './tune.js';
import { KINDS, defaultKind, defaultTarget, inferTask, kindsFor } from './kinds.js';
import { LmJobView, isLmJob } from './lm-job.js';

const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
const TYPES = ['train', 'tune', 'sleep', 'noop'];

/** How long a job ran (or has run so far): "12 s", "3 min 4 s", "1 h 2 min"; "–" before it starts. */
export function duration(job: Job, now = Date.now()): string {
  if (!job.startedAt) return '–';
  const end = job.finishedAt ? Date.parse(job.finishedAt) : now;
  const s = Math.max(0, Math.round((end - Date.parse(job.startedAt)) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** "3 trials + final" for a tune job's children (trials are named …-trial-N-rR, the refit …-final). */
function childLabel(kids: Job[]): string {
  const trials = kids.filter((k) => /-trial-\d+-r\d+$/.test(k.name ?? '')).length;
  const others = kids.length - trials;
  const final = kids.some((k) => k.name?.endsWith('-final'));
  return `${trials} ${trials === 1 ? 'trial' : 'trials'}${final ? ' + final' : ''}${others > (final ? 1 : 0) ? ` + ${others - (final ? 1 : 0)} more` : ''}`;
}

export function JobsPage() {
  const { query } = useLocation();
  const status = query.get('status') ?? '';
  const type = query.get('type') ?? '';
  const { data, error } = useLoad(() => client.jobs.list({ limit: 200, ...(status ? { status: status as never } : {}), ...(type ? { type } : {}) }), [status, type], 2000);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const filter = (patch: Record<string, string>) => {
    const q = new URLSearchParams({ ...(status ? { status } : {}), ...(type ? { type } : {}), ...patch });
    for (const [k, v] of [...q.entries()]) if (!v) q.delete(k);
    navigate(`/jobs${q.toString() ? `?${q}` : ''}`);
  };
  // Trials (child jobs) sit under their tune job, folded; a child whose parent is not listed stands alone.
  const ids = new Set((data ?? []).map((j) => j.id));
  const children = new Map<string, Job[]>();
  for (const j of data ?? []) if (j.parent && ids.has(j.parent)) children.set(j.parent, [...(children.get(j.parent) ?? []), j]);
  const top = (data ?? []).filter((j) => !j.parent || !ids.has(j.parent));
  const row = (j: Job, child = false): ReactElement[] => {
    const kids = children.get(j.id) ?? [];
    const shown = open.has(j.id);
    return [
      <tr key={j.id} className={child ? 'child-row' : undefined}>
        <td>{child && <span aria-hidden="true">↳ </span>}<Link to={`/jobs/${j.id}`}>{j.id}</Link>
          {kids.length > 0 && (
            <button type="button" className="link toggle" aria-expanded={shown} onClick={() => setOpen((o) => { const n = new Set(o); if (n.has(j.id)) n.delete(j.id); else n.add(j.id); return n; })}>
              {shown ? '▾' : '▸'} {childLabel(kids)}
            </button>
          )}
        </td>
        <td>{j.type}</td><td>{j.name ?? '–'}</td><td><Status status={j.status} /></td>
        <td className="narrow"><Progress fraction={j.progress.fraction} /></td><td>{ago(j.createdAt)}</td><td>{duration(j)}</td>
        <td>{j.result ? <Link to={`/models/${encodeURIComponent(j.result.model)}/versions/${j.result.version}`}>{j.result.model} v{j.result.version}</Link> : (j.error ?? j.queueReason ?? '')}</td>
      </tr>,
      ...(shown ? kids.map((k) => row(k, true)).flat() : []),
    ];
  };
  return (
    <section>
      <div className="row spread"><h1>Jobs</h1><div className="row"><Link className="button" to="/jobs/new">New training job</Link><Link className="button" to="/jobs/new?mode=tune">New tune job</Link></div></div>
      <div className="row filters" role="search" aria-label="filter jobs">
        <label>Status
          <select name="statusFilter" value={status} onChange={(e) => filter({ status: e.target.value })}>
            <option value="">any</option>
            {STATUSES.map((x) => <option key={x}>{x}</option>)}
          </select>
        </label>
        <label>Type
          <select name="typeFilter" value={type} onChange={(e) => filter({ type: e.target.value })}>
            <option value="">any</option>
            {TYPES.map((x) => <option key={x}>{x}</option>)}
          </select>
        </label>
      </div>
      <ErrorBox error={error} />
      {!data ? <Loading /> : (
        <Table label="jobs" head={['Job', 'Type', 'Name', 'Status', 'Progress', 'Created', 'Duration', 'Result']}>
          {top.length === 0 && <tr><td colSpan={8} className="muted">{status || type ? 'No jobs match these filters.' : 'No jobs yet.'}</td></tr>}
          {top.map((j) => row(j))}
        </Table>
      )}
    </section>
  );
}

export function NewJobPage() {
  const { query } = useLocation();
  const tuneMode = query.get('mode') === 'tune';
  const [tune, setTune] = useTuneSettings('random_forest');
  const datasets = useLoad(() => client.datasets.list(), []);
  const [dataset, setDataset] = useState(query.get('dataset') ?? '');
  const profile = useLoad(() => (dataset ? client.datasets.get(dataset) : Promise.resolve(undefined)), [dataset]);
  const [target, setTarget] = useState('');
  // undefined: the default name of the mode (a tune registers under a name of its own).
  const [name, setName] = useState<string>();
  const [kind, setKind] = useState<ModelKind>('random_forest');
  const [hidden, setHidden] = useState('32');
  const [activation, setActivation] = useState('relu');
  const [dropout, setDropout] = useState('0');
  const [trees, setTrees] = useState('50');
  const [rounds, setRounds] = useState('');
  const [depth, setDepth] = useState('');
  // Empty: the server's defaults (epochs with early stopping, batch size and learning rate by row count).
  const [epochs, setEpochs] = useState('');
  const [batchSize, setBatchSize] = useState('');
  const [learningRate, setLearningRate] = useState('');
  const [optimizer, setOptimizer] = useState('adam');
  const [testShare, setTestShare] = useState('0.2');
  const [preprocessing, setPreprocessing] = useState('auto');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!dataset && datasets.data?.length) setDataset(datasets.data[0]!.name);
  }, [datasets.data, dataset]);
  useEffect(() => {
    const cols = profile.data?.columns;
    if (!cols?.length) return;
    if (!cols.some((c) => c.name === target)) setTarget(defaultTarget(cols)!);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [profile.data]);

  const columns = profile.data?.columns ?? [];
  const task = inferTask(columns.find((c) => c.name === target));
  const features = Math.max(columns.length - 1, 0);
  const kinds = kindsFor(task, features);
  // The kind follows the target: a choice the target does not allow is replaced by the task's default.
  // A kind the person picked stays while the new target allows it.
  const [kindPicked, setKindPicked] = useState(false);
  useEffect(() => {
    if (!target || !columns.length) return;
    if (!kindPicked || !kinds.some((k) => k.kind === kind)) setKind(defaultKind(task, features));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [target, task, features]);
  // Until the person edits the search space, it follows the base model's kind.
  useEffect(() => {
    if (!tune.edited) setTune((t) => (t.edited ? t : { ...t, rows: defaultRows(kind) }));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [kind]);
  const modelName = name ?? (dataset ? `${dataset}-${tuneMode ? 'tuned' : 'model'}` : '');

  const neural = KINDS.find((k) => k.kind === kind)!.neural;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const model: TrainRequest['model'] = { kind };
    if (kind === 'mlp') Object.assign(model, { hidden: hidden.split(',').map((s) => Number(s.trim())).filter((n) => n > 0), activation, dropout: Number(dropout) });
    // A forest's size is nEstimators; boosting's is maxIter (its rounds), both optional.
    if (kind === 'random_forest') Object.assign(model, { ...(trees ? { nEstimators: Number(trees) } : {}), ...(depth ? { maxDepth: Number(depth) } : {}) });
    if (kind === 'gradient_boosting') Object.assign(model, { ...(rounds ? { maxIter: Number(rounds) } : {}), ...(depth ? { maxDepth: Number(depth) } : {}) });
    const spec: TrainRequest = {
      name: modelName, dataset, target, model, split: { test: Number(testShare) },
      preprocessing: preprocessing === 'auto' ? 'auto' : preprocessing === 'standardize' ? [{ op: 'impute', strategy: 'mean' }, { op: 'standardize' }, { op: 'one_hot' }] : [],
      ...(neural ? { training: { ...given({ epochs, batchSize, learningRate }), optimizer: optimizer as 'adam' } } : {}),
    };
    try {
      if (tuneMode) {
        const space = buildSpace(tune.rows);
        if (typeof space === 'string') {
          setError(space);
          setBusy(false);
          return;
        }
        const { name: _name, ...base } = spec;
        const request: TuneRequest = {
          name: modelName, base, space, strategy: tune.strategy, cv: Number(tune.cv || 0),
          ...(tune.trials ? { trials: Number(tune.trials) } : {}), ...(tune.metric ? { metric: tune.metric } : {}),
        };
        const job = await client.jobs.tune(request);
        navigate(`/jobs/${job.id}`);
        return;
      }
      const job = await client.jobs.train(spec);
      navigate(`/jobs/${job.id}`);
    } catch (err) {
      setError(message(err));
      setBusy(false);
    }
  };
  return (
    <section>
      <p className="crumbs"><Link to="/jobs">Jobs</Link> / new</p>
      <h1>{tuneMode ? 'Tune a model' : 'Train a model'}</h1>
      <nav className="tabs" aria-label="job kind">
        <Link to={`/jobs/new${dataset ? `?dataset=${encodeURIComponent(dataset)}` : ''}`} aria-current={tuneMode ? undefined : 'page'}>Train one model</Link>
        <Link to={`/jobs/new?mode=tune${dataset ? `&dataset=${encodeURIComponent(dataset)}` : ''}`} aria-current={tuneMode ? 'page' : undefined}>Tune hyper-parameters</Link>
      </nav>
      <p className="muted">{tuneMode
        ? 'Trials of the model below with the parameters of the search space run as child train jobs; the best candidate is trained on all training rows and registered. '
        : ''}Other job types (sleep, noop): <a href="#any-job">submit any job as JSON</a> below.</p>
      <form className="card form" onSubmit={submit}>
        <fieldset>
          <legend>Data</legend>
          <label>Dataset
            <select name="dataset" value={dataset} onChange={(e) => { setDataset(e.target.value); setName(undefined); }} required>
              {!datasets.data?.length && <option value="">(upload a dataset first)</option>}
              {datasets.data?.map((d) => <option key={d.id} value={d.name}>{d.name}</option>)}
            </select>
          </label>
          <label>Target column
            <select name="target" value={target} onChange={(e) => setTarget(e.target.value)} required>
              {profile.data?.columns.map((c) => <option key={c.name} value={c.name}>{c.name} ({c.type})</option>)}
            </select>
          </label>
          <p className="muted small" data-testid="task">Task: <strong>{task}</strong> ({task === 'classification' ? 'predicts a class of' : 'predicts the number in'} {target || 'the target'})</p>
          <label>Test share <input name="test" type="number" min="0.05" max="0.9" step="0.05" value={testShare} onChange={(e) => setTestShare(e.target.value)} /></label>
          <label>Preprocessing
            <select name="preprocessing" value={preprocessing} onChange={(e) => setPreprocessing(e.target.value)}>
              <option value="auto">auto (impute, scale, one-hot, drop duplicates)</option>
              <option value="standardize">impute means, standardize, one-hot</option>
              <option value="none">none</option>
            </select>
          </label>
        </fieldset>
        <fieldset>
          <legend>Model</legend>
          <label>Model name <input name="name" value={modelName} onChange={(e) => setName(e.target.value)} required /></label>
          <label>Kind
            <select name="kind" value={kind} onChange={(e) => { setKind(e.target.value as ModelKind); setKindPicked(true); }}>
              {kinds.map((k) => <option key={k.kind} value={k.kind}>{k.label}</option>)}
            </select>
          </label>
          {kind === 'mlp' && (
            <>
              <label>Hidden layers (units, comma-separated) <input name="hidden" value={hidden} onChange={(e) => setHidden(e.target.value)} /></label>
              <label>Activation
                <select name="activation" value={activation} onChange={(e) => setActivation(e.target.value)}>
                  {['relu', 'tanh', 'sigmoid', 'gelu'].map((a) => <option key={a}>{a}</option>)}
                </select>
              </label>
              <label>Dropout <input name="dropout" type="number" min="0" max="0.9" step="0.05" value={dropout} onChange={(e) => setDropout(e.target.value)} /></label>
            </>
          )}
          {(kind === 'random_forest' || kind === 'gradient_boosting') && (
            <>
              {kind === 'random_forest'
                ? <label>Trees <input name="nEstimators" type="number" min="1" value={trees} onChange={(e) => setTrees(e.target.value)} /></label>
                : <label>Boosting rounds <input name="maxIter" type="number" min="1" value={rounds} placeholder="default (100)" onChange={(e) => setRounds(e.target.value)} /></label>}
              <label>Max depth <input name="maxDepth" type="number" min="1" value={depth} placeholder="default" onChange={(e) => setDepth(e.target.value)} /></label>
            </>
          )}
        </fieldset>
        {neural && (
          <fieldset>
            <legend>Training</legend>
            <label>Epochs <input name="epochs" type="number" min="1" placeholder="auto: early stopping" value={epochs} onChange={(e) => setEpochs(e.target.value)} /></label>
            <label>Batch size <input name="batchSize" type="number" min="1" placeholder="auto" value={batchSize} onChange={(e) => setBatchSize(e.target.value)} /></label>
            <label>Optimizer
              <select name="optimizer" value={optimizer} onChange={(e) => setOptimizer(e.target.value)}>
                {['adam', 'adamw', 'sgd'].map((o) => <option key={o}>{o}</option>)}
              </select>
            </label>
            <label>Learning rate <input name="learningRate" type="number" min="0" step="any" placeholder="auto" value={learningRate} onChange={(e) => setLearningRate(e.target.value)} /></label>
          </fieldset>
        )}
        {tuneMode && <TuneFields settings={tune} onChange={setTune} />}
        <ErrorBox error={error} />
        <button type="submit" disabled={busy || !dataset || !target}>{tuneMode ? 'Start tuning' : 'Start training'}</button>
      </form>
      <AnyJob />
    </section>
  );
}

/** Any job type from its JSON spec (sleep, noop, or a tune with options the form lacks…). */
function AnyJob() {
  const [text, setText] = useState('{"type": "sleep", "seconds": 3, "steps": 6}');
  const [error, setError] = useState<string>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let spec: unknown;
    try {
      spec = JSON.parse(text);
    } catch (err) {
      setError(`Not JSON: ${(err as Error).message}`);
      return;
    }
    try {
      const job = await client.jobs.submit(spec as never);
      navigate(`/jobs/${job.id}`);
    } catch (err) {
      setError(message(err));
    }
  };
  return (
    <form className="card form" onSubmit={submit} id="any-job">
      <h2>Submit any job</h2>
      <label>Job spec (JSON, as in POST /v1/jobs)
        <textarea name="jobSpec" rows={5} value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} />
      </label>
      <ErrorBox error={error} />
      <button type="submit">Submit job</button>
    </form>
  );
}

interface Live {
  job?: Job;
  epochs: Array<Record<string, number>>;
  logs: string[];
}

/** The numeric fields the form's user filled in (the rest are left to the server's defaults). */
function given(fields: Record<string, string>): Record<string, number> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v.trim() !== '').map(([k, v]) => [k, Number(v)]));
}

/** The curves' series: [history key, legend]. */
const CURVES: Record<'loss' | 'accuracy', Array<[string, string]>> = {
  loss: [['loss', 'training loss'], ['valLoss', 'validation loss']],
  accuracy: [['accuracy', 'training accuracy'], ['valAccuracy', 'validation accuracy']],
};

/** History entries as chart points (numbers only). */
function epochPoints(history: Array<Record<string, unknown>>): Array<Record<string, number>> {
  return history.filter((h) => typeof h.epoch === 'number')
    .map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => typeof v === 'number')) as Record<string, number>);
}

export function JobPage({ id }: { id: string }) {
  const [live, setLive] = useState<Live>({ epochs: [], logs: [] });
  const [error, setError] = useState<string>();
  const [cancelling, setCancelling] = useState(false);

  useEffect(() => {
    const abort = new AbortController();
    let stopped = false;
    setLive({ epochs: [], logs: [] });
    const refresh = () => client.jobs.get(id).then((job) => { if (!stopped) setLive((l) => ({ ...l, job })); }, (err) => setError(message(err)));
    void (async () => {
      await refresh();
      try {
        for await (const e of client.jobs.events(id, { signal: abort.signal })) {
          if (stopped) return;
          if (e.event === 'metrics' && typeof e.data.epoch === 'number') {
            const point = Object.fromEntries(Object.entries(e.data).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
            setLive((l) => ({ ...l, epochs: [...l.epochs.filter((p) => p.epoch !== point.epoch), point] }));
          } else if (e.event === 'log') {
            setLive((l) => ({ ...l, logs: [...l.logs, String(e.data.line ?? '')].slice(-500) }));
          } else if (e.event === 'progress') {
            const { at: _at, ...progress } = e.data;
            setLive((l) => (l.job ? { ...l, job: { ...l.job, progress: { ...l.job.progress, ...progress } as Job['progress'] } } : l));
          } else if (e.event === 'status') {
            await refresh();
          }
        }
        await refresh();
      } catch (err) {
        if (!stopped && (err as Error).name !== 'AbortError') setError(message(err));
      }
    })();
    return () => {
      stopped = true;
      abort.abort();
    };
  }, [id]);

  const job = live.job;
  if (!job) return error ? <ErrorBox error={error} /> : <Loading />;
  const m = job.metrics as JobMetrics;
  // The per-epoch history: live events while the job runs, `metrics.history` once it is final.
  const epochs = live.epochs.length ? live.epochs : epochPoints(m.history ?? []);
  const series = (keys: Array<[string, string]>): Series[] => keys
    .map(([k, name]) => ({ name, points: epochs.filter((p) => typeof p[k] === 'number').map((p) => [p.epoch!, p[k]!] as [number, number]) }))
    .filter((s) => s.points.length);
  const done = ['succeeded', 'failed', 'cancelled'].includes(job.status);
  return (
    <section>
      <p className="crumbs"><Link to="/jobs">Jobs</Link> / {job.id}</p>
      <div className="row spread">
        <h1>{job.name ?? job.type} <Status status={job.status} /></h1>
        {!done && <button type="button" className="danger" disabled={cancelling} onClick={async () => { setCancelling(true); try { const j = await client.jobs.cancel(job.id); setLive((l) => ({ ...l, job: j })); } catch (err) { setError(message(err)); } finally { setCancelling(false); } }}>{cancelling ? 'Cancelling…' : 'Cancel job'}</button>}
      </div>
      <Progress fraction={job.progress.fraction} label={job.progress.message ?? job.status} />
      <ErrorBox error={error ?? job.error} />
      {job.queueReason && job.status === 'queued' && <p className="muted">Waiting: {job.queueReason}</p>}
      {job.result && (
        <p className="result" data-testid="job-result">Registered <Link to={`/models/${encodeURIComponent(job.result.model)}/versions/${job.result.version}`}>{job.result.model} version {job.result.version}</Link>.</p>
      )}
      {job.type === 'tune' && <TuneTrials job={job} />}
      {isLmJob(job) && <LmJobView job={job} />}
      {job.type !== 'tune' && !isLmJob(job) && <div className="charts">
        <LineChart title="Loss per epoch (training rows; validation: held-out share of them)" xLabel="epoch" series={series(CURVES.loss)} />
        <LineChart title="Accuracy per epoch (training rows; validation: held-out share of them)" xLabel="epoch" series={series(CURVES.accuracy)} />
      </div>}
      {Object.keys(m).some((k) => k !== 'history') && <><h2>Metrics</h2><MetricGroups metrics={m} /></>}
      <h2>Details</h2>
      <dl className="kv">
        <dt>Type</dt><dd>{job.type}</dd>
        <dt>Resources</dt><dd>{job.resources.cpu} CPU · {job.resources.memoryMb} MB · {job.resources.gpu} GPU</dd>
        <dt>Created</dt><dd>{ago(job.createdAt)}</dd>
        <dt>Node</dt><dd>{job.node ?? '–'}</dd>
        <dt>CPU-seconds</dt><dd>{fmt(job.cpuSeconds)}</dd>
      </dl>
      <h2>Logs</h2>
      <pre className="logs" tabIndex={0} aria-label="job logs">{live.logs.join('\n') || '(no log lines yet)'}</pre>
    </section>
  );
}
