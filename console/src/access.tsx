/** Access: tenants (admins) and API keys: create (the secret is shown once), list, revoke. */
import { useEffect, useState, type FormEvent } from 'react';
import type { CreatedKey } from '../../src/sdk/index.js';
import { client, message, useLoad, useMe } from './api.js';
import { ErrorBox, Loading, Table, ago } from './ui.js';

export function AccessPage() {
  const tenants = useLoad(() => client.tenants.list(), []);
  const keys = useLoad(() => client.keys.list(), []);
  const [newTenant, setNewTenant] = useState('');
  const [tenantError, setTenantError] = useState<string>();
  const [name, setName] = useState('');
  const [role, setRole] = useState('developer');
  const [tenant, setTenant] = useState('');
  const [endpoint, setEndpoint] = useState('');
  const [created, setCreated] = useState<CreatedKey>();
  const [keyError, setKeyError] = useState<string>();
  const me = useMe();
  const admin = me?.key.role === 'admin';
  // Only the roles this key may grant (a developer cannot make admin keys).
  const grantable = me?.canGrant ?? [];
  const tenantName = (id: string | null) => (id ? tenants.data?.find((t) => t.id === id)?.name ?? id : '–');
  useEffect(() => {
    if (grantable.length && !grantable.includes(role)) setRole(grantable.includes('developer') ? 'developer' : grantable[0]!);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [grantable.join()]);

  const createTenant = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await client.tenants.create(newTenant);
      setNewTenant('');
      setTenantError(undefined);
      await tenants.reload();
    } catch (err) {
      setTenantError(message(err));
    }
  };
  const createKey = async (e: FormEvent) => {
    e.preventDefault();
    try {
      setCreated(await client.keys.create({ name, role: role as 'developer', ...(tenant ? { tenant } : {}), ...(endpoint ? { endpoint } : {}) }));
      setKeyError(undefined);
      setName('');
      await keys.reload();
    } catch (err) {
      setKeyError(message(err));
    }
  };
  return (
    <section>
      <h1>Access</h1>
      {me && (
        <p className="muted" data-testid="access-me">Signed in with key <strong>{me.key.name}</strong> (role {me.key.role}) of tenant <strong>{me.tenant.name}</strong>
          {me.actingTenant.id !== me.tenant.id && <>, acting in <strong>{me.actingTenant.name}</strong></>}.
          {grantable.length ? ` It may create keys with role ${grantable.join(', ')}.` : ' It may not create keys.'}</p>
      )}
      <h2>Tenants</h2>
      <ErrorBox error={tenants.error} />
      {!tenants.data ? <Loading /> : (
        <Table label="tenants" head={['Tenant', 'Id', 'Created']}>
          {tenants.data.map((t) => <tr key={t.id}><td>{t.name}</td><td><code>{t.id}</code></td><td>{ago(t.createdAt)}</td></tr>)}
        </Table>
      )}
      {admin && (
        <form className="card row" onSubmit={createTenant}>
          <label>New tenant <input name="tenantName" value={newTenant} onChange={(e) => setNewTenant(e.target.value)} required /></label>
          <button type="submit">Create tenant</button>
          <ErrorBox error={tenantError} />
        </form>
      )}
      <h2>API keys</h2>
      {grantable.length > 0 && <form className="card row" onSubmit={createKey}>
        <label>Name <input name="keyName" value={name} onChange={(e) => setName(e.target.value)} required /></label>
        <label>Role
          <select name="role" value={role} onChange={(e) => setRole(e.target.value)}>
            {grantable.map((r) => <option key={r}>{r}</option>)}
          </select>
        </label>
        {admin && (
          <label>Tenant
            <select name="keyTenant" value={tenant} onChange={(e) => setTenant(e.target.value)}>
              <option value="">{me ? `${me.actingTenant.name} (current)` : '(current)'}</option>
              {tenants.data?.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
            </select>
          </label>
        )}
        {role === 'inference' && <label>Only endpoint <input name="keyEndpoint" value={endpoint} onChange={(e) => setEndpoint(e.target.value)} placeholder="(any)" /></label>}
        <button type="submit">Create key</button>
        <ErrorBox error={keyError} />
      </form>}
      {created && (
        <div className="card" role="status">
          <p>Key <strong>{created.name}</strong> ({created.role}) — copy it now, it is shown only once:</p>
          <p><code data-testid="new-key">{created.key}</code></p>
        </div>
      )}
      <ErrorBox error={keys.error} />
      {keys.data && (
        <Table label="keys" head={['Name', 'Role', 'Tenant', 'Endpoint', 'Starts with', 'Last used', '']}>
          {keys.data.map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td><td>{k.role}</td><td title={k.tenant ?? undefined}>{tenantName(k.tenant)}</td><td>{k.endpoint ?? '–'}</td><td><code>{k.hint}</code></td><td>{ago(k.lastUsedAt)}</td>
              <td>{k.revokedAt ? <span className="muted">revoked</span> : (
                <button type="button" className="danger" onClick={async () => {
                  if (!confirm(`Revoke key ${k.name}? It stops working at once.`)) return;
                  try { await client.keys.revoke(k.id); await keys.reload(); } catch (err) { setKeyError(message(err)); }
                }}>Revoke</button>
              )}</td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}
