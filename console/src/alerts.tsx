/** Alerts: the tenant's rules with their state and history, a form to create one, delete. */
import { useState, type FormEvent } from 'react';
import type { Alert, CreateAlert } from '../../src/sdk/index.js';
import { client, message, useLoad, useMe } from './api.js';
import { ErrorBox, Loading, Status, Table, ago } from './ui.js';

const METRICS = [
  ['drift', 'drift (largest feature PSI)'],
  ['p99LatencyMs', 'p99 latency (ms)'],
  ['errorRate', 'error rate (5xx share, 0–1)'],
  ['requestsPerSecond', 'requests per second'],
] as const;

const shown = (v: number | null) => (v === null ? '–' : Number.isInteger(v) ? String(v) : v.toPrecision(3));

export function AlertsPage() {
  const alerts = useLoad(() => client.alerts.list(), [], 5000);
  const endpoints = useLoad(() => client.endpoints.list(), []);
  const me = useMe();
  const canWrite = me?.key.role === 'admin' || me?.key.role === 'developer';
  const [form, setForm] = useState({ name: '', endpoint: '', metric: 'drift', op: '>', threshold: '0.2', windowSeconds: '3600', url: '', secret: '' });
  const [error, setError] = useState<string>();
  const [open, setOpen] = useState<string>();
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });

  const create = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const body: CreateAlert = {
        name: form.name, metric: form.metric as CreateAlert['metric'], op: form.op as CreateAlert['op'], threshold: Number(form.threshold),
        windowSeconds: Number(form.windowSeconds), webhook: { url: form.url, secret: form.secret }, ...(form.endpoint ? { endpoint: form.endpoint } : {}),
      };
      await client.alerts.create(body);
      setError(undefined);
      setForm({ ...form, name: '', secret: '' });
      await alerts.reload();
    } catch (err) {
      setError(message(err));
    }
  };
  return (
    <section>
      <h1>Alerts</h1>
      <p className="muted">Evaluated in the background over each alert's window; every change of state is POSTed to its webhook, signed with
        <code> X-Aiaas-Signature: sha256=…</code> (HMAC-SHA256 of the body under the secret) and retried until a 2xx.</p>
      <ErrorBox error={alerts.error} />
      {!alerts.data ? <Loading /> : alerts.data.length === 0 ? <p className="muted">No alerts yet.</p> : (
        <Table label="alerts" head={['Name', 'State', 'Rule', 'Endpoint', 'Value', 'Since', 'Webhook', '']}>
          {alerts.data.map((a) => (
            <AlertRow key={a.id} a={a} open={open === a.id} onToggle={() => setOpen(open === a.id ? undefined : a.id)} canWrite={canWrite}
              onDelete={async () => {
                if (!confirm(`Delete alert ${a.name}? Its pending webhook deliveries are dropped.`)) return;
                try { await client.alerts.delete(a.id); await alerts.reload(); } catch (err) { setError(message(err)); }
              }} />
          ))}
        </Table>
      )}
      {canWrite && (
        <>
          <h2>New alert</h2>
          <form className="card row" onSubmit={create} aria-label="new alert">
            <label>Name <input name="alertName" value={form.name} onChange={set('name')} required /></label>
            <label>Endpoint
              <select name="alertEndpoint" value={form.endpoint} onChange={set('endpoint')}>
                <option value="">(all endpoints)</option>
                {endpoints.data?.map((ep) => <option key={ep.name}>{ep.name}</option>)}
              </select>
            </label>
            <label>Metric
              <select name="alertMetric" value={form.metric} onChange={set('metric')}>
                {METRICS.map(([m, label]) => <option key={m} value={m}>{label}</option>)}
              </select>
            </label>
            <label>When
              <select name="alertOp" value={form.op} onChange={set('op')}>{['>', '>=', '<', '<='].map((o) => <option key={o}>{o}</option>)}</select>
            </label>
            <label>Threshold <input name="alertThreshold" type="number" step="any" value={form.threshold} onChange={set('threshold')} required /></label>
            <label>Window (s) <input name="alertWindow" type="number" min={10} value={form.windowSeconds} onChange={set('windowSeconds')} required /></label>
            <label>Webhook URL <input name="alertUrl" type="url" value={form.url} onChange={set('url')} placeholder="https://hooks.example.com/aiaas" required /></label>
            <label>Secret <input name="alertSecret" type="password" value={form.secret} onChange={set('secret')} required /></label>
            <button type="submit">Create alert</button>
            <ErrorBox error={error} />
          </form>
        </>
      )}
    </section>
  );
}

function AlertRow({ a, open, onToggle, onDelete, canWrite }: { a: Alert; open: boolean; onToggle: () => void; onDelete: () => void; canWrite: boolean }) {
  const detail = useLoad(() => (open ? client.alerts.get(a.id) : Promise.resolve(undefined)), [open, a.evaluatedAt]);
  return (
    <>
      <tr>
        <td><button type="button" className="link" aria-expanded={open} onClick={onToggle}>{a.name}</button></td>
        <td><Status status={a.state} /></td>
        <td><code>{a.metric} {a.op} {a.threshold}</code> over {a.windowSeconds} s</td>
        <td>{a.endpoint ?? '(all)'}</td>
        <td title={a.message ?? undefined}>{shown(a.value)}</td>
        <td>{ago(a.stateSince)}</td>
        <td><code>{a.webhook.url}</code></td>
        <td>{canWrite && <button type="button" className="danger" onClick={onDelete}>Delete</button>}</td>
      </tr>
      {open && (
        <tr>
          <td colSpan={8}>
            {a.message && <p className="muted">{a.message}</p>}
            <h3>History</h3>
            {a.history.length === 0 ? <p className="muted">No change of state yet.</p> : (
              <ol aria-label={`history of ${a.name}`}>
                {[...a.history].reverse().map((h) => <li key={h.at}>{new Date(h.at).toLocaleString()}: <Status status={h.state} /> at {shown(h.value)}</li>)}
              </ol>
            )}
            <h3>Webhook deliveries</h3>
            {!detail.data ? <Loading /> : (detail.data.deliveries ?? []).length === 0 ? <p className="muted">None yet.</p> : (
              <Table label={`deliveries of ${a.name}`} head={['Delivery', 'State', 'Attempts', 'Last status', 'Delivered', 'Next attempt']}>
                {detail.data.deliveries!.map((d) => (
                  <tr key={d.id}>
                    <td><code>{d.id}</code></td><td>{d.state}</td><td>{d.attempts}</td>
                    <td title={d.lastError ?? undefined}>{d.lastStatus ?? d.lastError ?? '–'}</td>
                    <td>{d.deliveredAt ? ago(d.deliveredAt) : d.failedAt ? 'gave up' : '–'}</td>
                    <td>{d.nextAttemptAt ? new Date(d.nextAttemptAt).toLocaleTimeString() : '–'}</td>
                  </tr>
                ))}
              </Table>
            )}
          </td>
        </tr>
      )}
    </>
  );
}
