/** Datasets: upload (drag and drop, progress), list, profile with histograms, paged preview. */
import { useRef, useState, type DragEvent } from 'react';
import { client, message, useLoad } from './api.js';
import { Histogram, Progress, fmt } from './charts.js';
import { Link, navigate } from './router.js';
import { ErrorBox, Loading, Table, ago, bytes } from './ui.js';

export function DatasetsPage() {
  const { data, error, reload } = useLoad(() => client.datasets.list(), []);
  return (
    <section>
      <h1>Datasets</h1>
      <Upload onDone={(name) => { void reload(); navigate(`/datasets/${encodeURIComponent(name)}`); }} />
      <ErrorBox error={error} />
      {!data ? <Loading /> : (
        <Table label="datasets" head={['Name', 'Version', 'Rows', 'Columns', 'Size', 'Updated']}>
          {data.length === 0 && <tr><td colSpan={6} className="muted">No datasets yet: drop a CSV above.</td></tr>}
          {data.map((d) => (
            <tr key={d.id}>
              <td><Link to={`/datasets/${encodeURIComponent(d.name)}`}>{d.name}</Link></td>
              <td>{d.latestVersion}</td><td>{d.rows}</td><td>{d.columns}</td><td>{bytes(d.bytes)}</td><td>{ago(d.updatedAt)}</td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}

function Upload({ onDone }: { onDone: (name: string) => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File>();
  const [name, setName] = useState('');
  const [progress, setProgress] = useState<number>();
  const [error, setError] = useState<string>();
  const [over, setOver] = useState(false);
  const choose = (f: File | undefined) => {
    if (!f) return;
    setFile(f);
    setName(f.name.replace(/(\.gz)?$/i, '').replace(/\.(csv|jsonl|ndjson|json|txt)$/i, ''));
    setError(undefined);
  };
  const drop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    choose(e.dataTransfer.files[0]);
  };
  const upload = async () => {
    if (!file) return;
    setProgress(0);
    setError(undefined);
    try {
      const v = await client.datasets.upload(file, { name: name || undefined, filename: file.name, onProgress: setProgress });
      setFile(undefined);
      setProgress(undefined);
      onDone(v.name);
    } catch (err) {
      setError(message(err));
      setProgress(undefined);
    }
  };
  return (
    <div className="card">
      <div
        className={`dropzone${over ? ' over' : ''}`}
        onDragOver={(e) => { e.preventDefault(); setOver(true); }}
        onDragLeave={() => setOver(false)}
        onDrop={drop}
        onClick={() => input.current?.click()}
        onKeyDown={(e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); input.current?.click(); } }}
        role="button"
        tabIndex={0}
        aria-label="Upload a dataset: drop a CSV, CSV.gz or JSONL file here, or press Enter to choose one"
      >
        {file ? <strong>{file.name} ({bytes(file.size)})</strong> : <>Drop a CSV, CSV.gz or JSONL file here, or <u>choose one</u></>}
        <input ref={input} type="file" name="file" accept=".csv,.gz,.jsonl,.ndjson,.txt" hidden onChange={(e) => choose(e.target.files?.[0])} />
      </div>
      {file && (
        <div className="row">
          <label>Dataset name <input name="datasetName" value={name} onChange={(e) => setName(e.target.value)} /></label>
          <button type="button" onClick={upload} disabled={progress !== undefined}>Upload</button>
        </div>
      )}
      {progress !== undefined && <Progress fraction={progress} label={progress >= 1 ? 'profiling…' : 'uploading'} />}
      <ErrorBox error={error} />
    </div>
  );
}

const PAGE = 20;
const COLS = 25;

export function DatasetPage({ name }: { name: string }) {
  const { data: d, error } = useLoad(() => client.datasets.get(name), [name]);
  const [offset, setOffset] = useState(0);
  const rows = useLoad(() => client.datasets.rows(name, { offset, limit: PAGE }), [name, offset]);
  const [search, setSearch] = useState('');
  const [colPage, setColPage] = useState(0);
  if (error) return <section><h1>{name}</h1><ErrorBox error={error} /></section>;
  if (!d) return <Loading />;
  // Wide data (MNIST: 785 columns) shows COLS columns at a time, found by name, in both tables.
  const matching = d.columns.filter((c) => c.name.toLowerCase().includes(search.trim().toLowerCase()));
  const pages = Math.max(1, Math.ceil(matching.length / COLS));
  const page = Math.min(colPage, pages - 1);
  const visible = matching.slice(page * COLS, (page + 1) * COLS);
  const cols = visible.map((c) => c.name);
  return (
    <section>
      <p className="crumbs"><Link to="/datasets">Datasets</Link> / {d.name}</p>
      <h1>{d.name} <small>version {d.version}</small></h1>
      <p className="muted">{d.rows} rows · {d.columns.length} columns · {bytes(d.bytes)} · {d.filename ?? d.format} · uploaded {ago(d.createdAt)}</p>
      <p><Link className="button" to={`/jobs/new?dataset=${encodeURIComponent(d.name)}`}>Train a model on {d.name}</Link></p>
      <h2>Profile</h2>
      {d.columns.length > COLS && (
        <div className="row pager" role="search" aria-label="columns">
          <label>Find a column <input name="columnSearch" type="search" value={search} placeholder="e.g. pixel40" onChange={(e) => { setSearch(e.target.value); setColPage(0); }} /></label>
          <button type="button" disabled={page === 0} onClick={() => setColPage(page - 1)}>Previous columns</button>
          <span data-testid="column-window">columns {matching.length ? page * COLS + 1 : 0}–{page * COLS + visible.length} of {matching.length}{matching.length < d.columns.length ? ` matching (${d.columns.length} in all)` : ''}</span>
          <button type="button" disabled={page >= pages - 1} onClick={() => setColPage(page + 1)}>Next columns</button>
        </div>
      )}
      <Table label="column profile" head={['Column', 'Type', 'Missing', 'Distinct', 'Min', 'Mean', 'Max', 'Distribution']}>
        {visible.map((c) => {
          const hist = c.histogram?.counts?.length
            ? <Histogram counts={c.histogram.counts} labels={c.histogram.counts.map((_, i) => `${fmt(c.histogram!.edges[i]!, 3)}–${fmt(c.histogram!.edges[i + 1]!, 3)}`)} />
            : c.topValues?.length ? <Histogram counts={c.topValues.map((t) => t.count)} labels={c.topValues.map((t) => String(t.value))} /> : null;
          return (
            <tr key={c.name}>
              <th scope="row">{c.name}</th><td>{c.type}</td><td>{c.missing}</td><td>{c.distinct}</td>
              <td>{fmt(c.min)}</td><td>{fmt(c.mean)}</td><td>{fmt(c.max)}</td><td>{hist}</td>
            </tr>
          );
        })}
      </Table>
      <h2>Rows</h2>
      <ErrorBox error={rows.error} />
      {rows.data && (
        <>
          <Table label="rows" head={['#', ...cols]}>
            {rows.data.rows.map((r, i) => <tr key={offset + i}><td className="muted">{offset + i}</td>{cols.map((c) => <td key={c}>{r[c] === null ? '–' : String(r[c])}</td>)}</tr>)}
          </Table>
          <div className="row pager">
            <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>Previous</button>
            <span>rows {offset}–{Math.min(offset + PAGE, rows.data.total) - 1} of {rows.data.total}</span>
            <button type="button" disabled={offset + PAGE >= rows.data.total} onClick={() => setOffset(offset + PAGE)}>Next</button>
          </div>
        </>
      )}
    </section>
  );
}
