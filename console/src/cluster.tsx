/** Cluster and usage: capacity and allocation per node, the queue, per-tenant shares, usage and cost. */
import { useState, type FormEvent } from 'react';
import type { Tenant } from '../../src/sdk/index.js';
import { client, message, useLoad } from './api.js';
import { Bars, fmt } from './charts.js';
import { ErrorBox, Loading, Table, ago, bytes } from './ui.js';

export function ClusterPage() {
  const cluster = useLoad(() => client.cluster(), [], 3000);
  const tenants = useLoad(() => client.tenants.list(), []); // more than one: an admin
  const [from, setFrom] = useState('');
  const usage = useLoad(() => client.usage(from ? { from } : {}), [from]);
  const c = cluster.data;
  return (
    <section>
      <h1>Cluster &amp; usage</h1>
      <ErrorBox error={cluster.error} />
      {!c ? <Loading /> : (
        <>
          <p className="muted">Capacity {fmt(c.capacity.cpu)} CPU · {fmt(c.capacity.memoryMb)} MB · {c.capacity.gpu} GPU — queue: <strong>{c.queue.queued}</strong> queued, <strong>{c.queue.running}</strong> running</p>
          <h2>Nodes</h2>
          <div className="nodes">
            {c.nodes.map((n) => (
              <div className="card" key={n.id}>
                <h3>{n.hostname} <small className="muted">{n.id} · {n.kind}</small> <span className={`badge ${n.alive ? 'ready' : 'failed'}`}>{n.alive ? 'alive' : 'down'}</span></h3>
                <Bars items={[
                  { label: 'CPU', value: n.cpu ? n.allocated.cpu / n.cpu : 0, note: ` (${fmt(n.allocated.cpu)} of ${fmt(n.cpu)})` },
                  { label: 'Memory', value: n.memoryMb ? n.allocated.memoryMb / n.memoryMb : 0, note: ` (${fmt(n.allocated.memoryMb)} of ${fmt(n.memoryMb)} MB)` },
                  { label: 'GPU', value: n.gpus ? n.allocated.gpu / n.gpus : 0, note: ` (${n.allocated.gpu} of ${n.gpus})` },
                ]} max={1} format={(x) => `${Math.round(x * 100)}%`} />
                <p className="muted small">{n.allocated.jobs} jobs running · heartbeat {ago(n.heartbeatAt)}</p>
              </div>
            ))}
          </div>
          <h2>Tenants</h2>
          <Table label="tenant shares" head={['Tenant', 'Dominant share', 'CPU', 'Memory MB', 'Running', 'Queued', 'Quota']}>
            {c.tenants.map((t) => (
              <tr key={t.tenant}><td>{t.name}</td><td>{(t.share * 100).toFixed(1)}%</td><td>{fmt(t.usage.cpu)}</td><td>{fmt(t.usage.memoryMb)}</td><td>{t.usage.jobs}</td><td>{t.queued}</td>
                <td>{Object.entries(t.quota).filter(([, v]) => v !== null).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}</td></tr>
            ))}
          </Table>
          {(tenants.data?.length ?? 0) > 1 && <QuotaForm tenants={tenants.data!} onDone={cluster.reload} />}
        </>
      )}
      <h2>Usage and cost</h2>
      <div className="row"><label>From <input type="date" name="from" value={from} onChange={(e) => setFrom(e.target.value)} /></label><span className="muted">(default: the start of this month)</span></div>
      <ErrorBox error={usage.error} />
      {!usage.data ? <Loading /> : (
        <Table label="usage" head={['Tenant', 'CPU-seconds', 'GPU-seconds', 'Jobs', 'Predictions', 'Storage', 'Cost']}>
          {usage.data.data.map((u) => (
            <tr key={u.tenant}><td>{u.name}</td><td>{fmt(u.cpuSeconds)}</td><td>{fmt(u.gpuSeconds)}</td><td>{u.jobs}</td><td>{u.predictions}</td><td>{bytes(u.storageBytes)}</td><td>{u.cost.toPrecision(3)}</td></tr>
          ))}
        </Table>
      )}
      {usage.data && <p className="muted small">Prices: {usage.data.prices.cpuSecond} per CPU-second · {usage.data.prices.gpuSecond} per GPU-second · {usage.data.prices.thousandPredictions} per 1,000 predictions · {usage.data.prices.gbMonth} per GB-month.</p>}
    </section>
  );
}

const QUOTA_FIELDS = [['maxCpu', 'Max CPU'], ['maxGpu', 'Max GPUs'], ['maxConcurrentJobs', 'Max concurrent jobs'], ['monthlyCpuSeconds', 'CPU-seconds per month']] as const;

/** Admins: set a tenant's quota (empty: no limit). */
function QuotaForm({ tenants, onDone }: { tenants: Tenant[]; onDone: () => void }) {
  const [tenant, setTenant] = useState(tenants[0]!.id);
  const quota = useLoad(() => client.tenants.quota(tenant), [tenant]);
  const [values, setValues] = useState<Record<string, string>>({});
  const [error, setError] = useState<string>();
  const [saved, setSaved] = useState(false);
  const current = quota.data as Record<string, number | null> | undefined;
  const value = (k: string) => values[k] ?? (current?.[k] == null ? '' : String(current[k]));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const patch = Object.fromEntries(QUOTA_FIELDS.map(([k]) => [k, value(k) === '' ? null : Number(value(k))]));
      await client.tenants.setQuota(tenant, patch);
      setError(undefined);
      setSaved(true);
      onDone();
    } catch (err) {
      setError(message(err));
    }
  };
  return (
    <form className="card row" onSubmit={submit} aria-label="tenant quota">
      <label>Quota of <select name="quotaTenant" value={tenant} onChange={(e) => { setTenant(e.target.value); setValues({}); setSaved(false); }}>
        {tenants.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
      </select></label>
      {QUOTA_FIELDS.map(([k, label]) => (
        <label key={k}>{label} <input name={k} type="number" min="0" step="any" placeholder="no limit" value={value(k)} onChange={(e) => { setValues({ ...values, [k]: e.target.value }); setSaved(false); }} /></label>
      ))}
      <button type="submit">Save quota</button>
      {saved && <span className="muted" role="status">Saved.</span>}
      <ErrorBox error={error} />
    </form>
  );
}
