/**
 * The endpoint page's monitoring: drift of the logged rows from the served version's training rows
 * (per feature, over the time the page is open, and at several look-back windows), and the shadow
 * (a candidate getting copies of requests): its figures, agreement over time, and a form to set it.
 */
import { useEffect, useState } from 'react';
import type { DriftReport, Endpoint } from '../../src/sdk/index.js';
import { client, message, useLoad } from './api.js';
import { LineChart, fmt } from './charts.js';
import { ErrorBox, Table } from './ui.js';

/** Look-back windows of the drift table (seconds). */
const WINDOWS: Array<[number, string]> = [[300, '5 min'], [3600, '1 h'], [86_400, '24 h']];
/** The window of the drift curve: each point is the drift of the last 5 minutes when it was drawn. */
const CURVE_WINDOW = 300;
const DRIFT_EVERY_MS = 10_000;

interface Point { t: number; values: Record<string, number> }
interface History { first: number; points: Point[]; last?: string }
/** Curves per endpoint, kept for the tab's life (as the live request metrics are). */
const DRIFT_HISTORY = new Map<string, History>();
const SHADOW_HISTORY = new Map<string, History>();

/** Adds a point, unless `stamp` says it is the same measurement as the last one. */
function record(store: Map<string, History>, key: string, values: Record<string, number>, stamp?: string): void {
  const h = store.get(key) ?? { first: Date.now(), points: [] };
  store.set(key, h);
  if (stamp !== undefined && stamp === h.last) return;
  h.last = stamp;
  h.points = [...h.points, { t: (Date.now() - h.first) / 1000, values }].slice(-180);
}

function curves(points: Point[]): Array<{ name: string; points: Array<[number, number]> }> {
  const names = [...new Set(points.flatMap((p) => Object.keys(p.values)))];
  return names.map((name) => ({ name, points: points.filter((p) => p.values[name] !== undefined).map((p) => [p.t, p.values[name]!] as [number, number]) }));
}

export function EndpointMonitoring({ ep, onChange }: { ep: Endpoint; onChange: (e: Endpoint) => void }) {
  return (
    <>
      <h2>Monitoring</h2>
      <Drift ep={ep} onChange={onChange} />
      <ShadowCard ep={ep} onChange={onChange} />
    </>
  );
}

function Drift({ ep, onChange }: { ep: Endpoint; onChange: (e: Endpoint) => void }) {
  const logging = ep.logging.sampleRate > 0;
  const [error, setError] = useState<string>();
  const reports = useLoad(async () => {
    if (!logging) return undefined;
    const all = await Promise.all(WINDOWS.map(([w]) => client.endpoints.drift(ep.name, { window: w })));
    const now = await client.endpoints.drift(ep.name, { window: CURVE_WINDOW });
    if (now.rows > 0) record(DRIFT_HISTORY, ep.name, Object.fromEntries(now.features.map((f) => [f.name, f.psi])));
    return all;
  }, [ep.name, logging], DRIFT_EVERY_MS);
  if (!logging) {
    return (
      <div className="card" data-testid="drift">
        <h3>Drift</h3>
        <p className="muted">Prediction logging is off, so there are no live rows to compare with the training rows.</p>
        <button type="button" onClick={async () => {
          try { onChange(await client.endpoints.update(ep.name, { logging: { sampleRate: 1 } })); } catch (err) { setError(message(err)); }
        }}>Log every request</button>
        <ErrorBox error={error} />
      </div>
    );
  }
  const byWindow: DriftReport[] | undefined = reports.data;
  const main = byWindow?.[1];
  const history = DRIFT_HISTORY.get(ep.name)?.points ?? [];
  return (
    <div className="card" data-testid="drift">
      <h3>Drift <small className="muted">logging {Math.round(ep.logging.sampleRate * 100)}% of requests</small></h3>
      <ErrorBox error={reports.error} />
      {main?.message && <p className="muted">{main.message}</p>}
      <div className="charts narrow">
        <LineChart title={`PSI per feature over time (last ${CURVE_WINDOW / 60} min at each point)`} xLabel="s" height={170}
          empty={main && main.rows === 0 ? 'No logged rows yet.' : 'Measuring…'} series={curves(history)}
          note={main && <p className="muted small">Drifted over PSI {main.thresholds.psi}, or KS p &lt; {main.thresholds.ksPValue} with a distance over {main.thresholds.ksStatistic}.</p>} />
      </div>
      {byWindow && byWindow.some((r) => r.rows > 0) && (
        <Table label="drift per feature" head={['Feature', ...WINDOWS.map(([, l]) => `PSI ${l}`), 'KS (1 h)', 'Missing (1 h)', 'Unseen (1 h)', 'Drifted (1 h)']}>
          {featureNames(byWindow).map((name) => {
            const f = main?.features.find((x) => x.name === name);
            return (
              <tr key={name} className={f?.drifted ? 'drifted' : undefined}>
                <td>{name}</td>
                {byWindow.map((r, i) => <td key={i}>{fmt(r.features.find((x) => x.name === name)?.psi, 3)}</td>)}
                <td>{f?.ks ? fmt(f.ks.statistic, 3) : '–'}</td><td>{f ? `${fmt(f.missingShare * 100, 1)}%` : '–'}</td>
                <td>{f?.unseenShare !== undefined ? `${fmt(f.unseenShare * 100, 1)}%` : '–'}</td>
                <td>{f ? (f.drifted ? <strong className="bad">drifted</strong> : 'no') : '–'}</td>
              </tr>
            );
          })}
          <tr><td>prediction</td>{byWindow.map((r, i) => <td key={i}>{fmt(r.prediction?.psi, 3)}</td>)}<td>–</td><td>–</td><td>–</td><td>{main?.prediction ? (main.prediction.drifted ? <strong className="bad">drifted</strong> : 'no') : '–'}</td></tr>
        </Table>
      )}
      {main && <p className="muted small">{main.rows} rows of version {main.version} in the last hour{main.truncated ? ' (the newest 10,000 read)' : ''}.</p>}
    </div>
  );
}

function featureNames(reports: DriftReport[]): string[] {
  return [...new Set(reports.flatMap((r) => r.features.map((f) => f.name)))];
}

function ShadowCard({ ep, onChange }: { ep: Endpoint; onChange: (e: Endpoint) => void }) {
  const versions = useLoad(() => client.models.versions(ep.model), [ep.model]);
  const sh = ep.shadow;
  const [version, setVersion] = useState<number | undefined>(sh?.version);
  const [percent, setPercent] = useState(sh?.percent ?? 10);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  // A point each time more rows have been compared (the page polls the endpoint).
  if (sh && sh.rows > 0 && sh.agreement !== null) record(SHADOW_HISTORY, `${ep.name}\0${sh.version}`, { agreement: sh.agreement }, String(sh.rows));
  useEffect(() => {
    if (version === undefined && versions.data?.length) setVersion(versions.data[versions.data.length - 1]!.version);
  }, [versions.data, version]);
  const apply = async (shadow: { version: number; percent: number } | null) => {
    setBusy(true);
    setError(undefined);
    try { onChange(await client.endpoints.update(ep.name, { shadow })); } catch (err) { setError(message(err)); } finally { setBusy(false); }
  };
  const history = sh ? SHADOW_HISTORY.get(`${ep.name}\0${sh.version}`)?.points ?? [] : [];
  return (
    <div className="card" data-testid="shadow">
      <h3>Shadow</h3>
      {sh ? (
        <>
          <p>Version <strong>{sh.version}</strong> gets a copy of {sh.percent}% of the requests, after they are answered; its answers are compared, never returned.</p>
          <dl className="figures" data-testid="shadow-figures">
            {([
              ['Copies', sh.requests], ['Rows compared', sh.rows], ['Agreement', sh.agreement === null ? '–' : `${fmt(sh.agreement * 100, 2)}%`],
              ['p50 latency', sh.p50LatencyMs === null ? '–' : `${fmt(sh.p50LatencyMs, 2)} ms`], ['Errors', sh.errors], ['Dropped', sh.dropped],
              ['Replicas ready', `${sh.ready}/${sh.replicas}`],
            ] as Array<[string, string | number]>).map(([k, v]) => <div key={k}><dt>{k}</dt><dd>{v}</dd></div>)}
          </dl>
          {sh.lastError && <p className="muted small">Last error: {sh.lastError}</p>}
          <div className="charts narrow"><LineChart title={`Agreement of version ${sh.version} over time`} xLabel="s" height={130} yFormat={(n) => `${fmt(n * 100, 1)}%`}
            empty="No rows compared yet." series={curves(history)} /></div>
        </>
      ) : <p className="muted">No shadow: run a candidate version on a copy of the traffic before it gets any.</p>}
      <div className="row">
        <label>Candidate
          <select name="shadowVersion" value={version ?? ''} onChange={(e) => setVersion(Number(e.target.value))}>
            {versions.data?.map((v) => <option key={v.version} value={v.version}>version {v.version}</option>)}
          </select>
        </label>
        <label>Share of requests (%)
          <input name="shadowPercent" type="number" min={0} max={100} step="any" value={percent} onChange={(e) => setPercent(Number(e.target.value))} />
        </label>
        <button type="button" disabled={busy || version === undefined} onClick={() => apply({ version: version!, percent })}>{sh ? 'Change shadow' : 'Run in shadow'}</button>
        {sh && <button type="button" disabled={busy} onClick={() => apply(null)}>Remove shadow</button>}
      </div>
      <ErrorBox error={error} />
    </div>
  );
}
