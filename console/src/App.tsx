/** The console shell: sign-in, tenant switcher, navigation, and the page for the path. */
import { useEffect, useState, type FormEvent } from 'react';
import type { Tenant, Whoami } from '../../src/sdk/index.js';
import { MeContext, client, message, setTenant, signIn, signOut } from './api.js';
import { Link, match, navigate, useLocation } from './router.js';
import { DatasetPage, DatasetsPage } from './datasets.js';
import { JobPage, JobsPage, NewJobPage } from './jobs.js';
import { ModelPage, ModelsPage, VersionPage } from './models.js';
import { EndpointPage, EndpointsPage } from './endpoints.js';
import { ClusterPage } from './cluster.js';
import { AccessPage } from './access.js';
import { AlertsPage } from './alerts.js';

const NAV = [
  ['/datasets', 'Datasets'],
  ['/jobs', 'Jobs'],
  ['/models', 'Models'],
  ['/endpoints', 'Endpoints'],
  ['/alerts', 'Alerts'],
  ['/cluster', 'Cluster & usage'],
  ['/access', 'Access'],
] as const;

export function App() {
  const [signedIn, setSignedIn] = useState(Boolean(client.apiKey));
  const [tenants, setTenants] = useState<Tenant[]>([]);
  const [me, setMe] = useState<Whoami>();
  const [tenant, setTenantState] = useState(client.tenant ?? '');
  const { path } = useLocation();

  useEffect(() => {
    if (!signedIn) return;
    void (async () => {
      try {
        const who = await client.whoami();
        const list = await client.tenants.list().catch(() => [] as Tenant[]);
        setTenants(list);
        if (who.key.role === 'admin' && !client.tenant) {
          const busiest = await busiestTenant(who.tenant.id);
          if (busiest) {
            setTenant(busiest);
            setTenantState(busiest);
            setMe(await client.whoami());
            return;
          }
        }
        setMe(who);
      } catch (err) {
        if ((err as { status?: number }).status === 401) {
          signOut();
          setSignedIn(false);
        }
      }
    })();
  }, [signedIn]);

  const known = path === '/' || path === '/login' || NAV.some(([p]) => path === p || path.startsWith(p + '/'));
  // An unknown path is the console's own 404 page (the server answers it with status 404), signed in or not.
  if (!signedIn && !known) return <main className="signin"><NotFound path={path} /></main>;
  if (!signedIn) return <SignIn onDone={() => setSignedIn(true)} />;
  if (path === '/' || path === '/login') {
    queueMicrotask(() => navigate('/datasets'));
    return null;
  }
  const section = NAV.find(([p]) => path === p || path.startsWith(p + '/'))?.[0];
  const acting = me?.actingTenant.id ?? '';
  return (
    <MeContext.Provider value={me}>
      <div className="shell">
        <header className="top">
          <Link to="/datasets" className="brand">aiaas</Link>
          <nav aria-label="main">
            {NAV.map(([to, label]) => <Link key={to} to={to} aria-current={section === to ? 'page' : undefined}>{label}</Link>)}
          </nav>
          <div className="account">
            {me && (
              <span className="who" data-testid="whoami" title={`key ${me.key.id}`}>
                <strong>{me.key.name}</strong> · {me.key.role}{me.key.role !== 'admin' || tenants.length <= 1 ? <> · {me.actingTenant.name}</> : null}
              </span>
            )}
            {me?.key.role === 'admin' && tenants.length > 1 && (
              <label>
                <span className="sr-only">Tenant</span>
                <select
                  aria-label="tenant"
                  value={acting}
                  onChange={async (e) => {
                    // The key's own tenant needs no X-Tenant.
                    const id = e.target.value === me.tenant.id ? undefined : e.target.value;
                    setTenant(id);
                    setTenantState(id ?? '');
                    setMe(await client.whoami());
                    navigate('/datasets');
                  }}
                >
                  {tenants.map((t) => <option key={t.id} value={t.id}>{t.name}{t.id === me.tenant.id ? ' (your key\'s tenant)' : ''}</option>)}
                </select>
              </label>
            )}
            <button type="button" className="link" onClick={() => { signOut(); setSignedIn(false); setMe(undefined); }}>Sign out</button>
          </div>
        </header>
        <main key={`${tenant}`}>
          <Page path={path} />
        </main>
      </div>
    </MeContext.Provider>
  );
}

/**
 * Where an admin lands: the key's own tenant, unless it holds nothing and another tenant does
 * (the admin key's tenant is usually an empty "default"); then the tenant with the most data and jobs.
 */
async function busiestTenant(own: string): Promise<string | undefined> {
  const usage = await client.usage().catch(() => undefined);
  if (!usage) return undefined;
  const weight = (u: (typeof usage.data)[number]) => u.storageBytes + u.jobs;
  const mine = usage.data.find((u) => u.tenant === own);
  if (mine && weight(mine) > 0) return undefined;
  const best = usage.data.filter((u) => u.tenant !== own && weight(u) > 0).sort((a, b) => weight(b) - weight(a))[0];
  return best?.tenant;
}

function Page({ path }: { path: string }) {
  let m: Record<string, string> | null;
  if (path === '/datasets') return <DatasetsPage />;
  if ((m = match('/datasets/:name', path))) return <DatasetPage name={m.name!} />;
  if (path === '/jobs') return <JobsPage />;
  if (path === '/jobs/new') return <NewJobPage />;
  if ((m = match('/jobs/:id', path))) return <JobPage id={m.id!} />;
  if (path === '/models') return <ModelsPage />;
  if ((m = match('/models/:name', path))) return <ModelPage name={m.name!} />;
  if ((m = match('/models/:name/versions/:v', path))) return <VersionPage name={m.name!} version={m.v!} />;
  if (path === '/endpoints') return <EndpointsPage />;
  if ((m = match('/endpoints/:name', path))) return <EndpointPage name={m.name!} />;
  if (path === '/alerts') return <AlertsPage />;
  if (path === '/cluster') return <ClusterPage />;
  if (path === '/access') return <AccessPage />;
  return <NotFound path={path} />;
}

function NotFound({ path }: { path: string }) {
  return (
    <section className="card" data-testid="not-found">
      <h1>Not found</h1>
      <p>There is no console page at <code>{path}</code>.</p>
      <p>Go to <Link to="/datasets">Datasets</Link>, <Link to="/jobs">Jobs</Link>, <Link to="/models">Models</Link> or <Link to="/endpoints">Endpoints</Link>;
        the API's reference is at <a href="/docs">/docs</a>.</p>
    </section>
  );
}

function SignIn({ onDone }: { onDone: () => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    signIn(key.trim());
    try {
      await client.tenants.list();
      onDone();
    } catch (err) {
      signOut();
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="signin">
      <form onSubmit={submit} className="card">
        <h1>aiaas console</h1>
        <p className="muted">Sign in with an API key. It is kept in this tab's session storage only.</p>
        <label>API key
          <input name="apiKey" type="password" autoComplete="off" autoFocus required value={key} onChange={(e) => setKey(e.target.value)} placeholder="aiaas_…" />
        </label>
        {error && <p className="error" role="alert">{error}</p>}
        <button type="submit" disabled={busy || !key.trim()}>Sign in</button>
        <p className="muted small">No key? The server prints the admin key on its first start (also in <code>.aiaas/admin.key</code>); create others with <code>aiaas keys create</code>.</p>
      </form>
    </main>
  );
}
