/** The console shell: sign-in, tenant switcher, navigation, and the page for the path. */
import { useEffect, useState, type FormEvent } from 'react';
import type { Tenant } from '../../src/sdk/index.js';
import { client, message, setTenant, signIn, signOut } from './api.js';
import { Link, match, navigate, useLocation } from './router.js';
import { DatasetPage, DatasetsPage } from './datasets.js';
import { JobPage, JobsPage, NewJobPage } from './jobs.js';
import { ModelPage, ModelsPage, VersionPage } from './models.js';
import { EndpointPage, EndpointsPage } from './endpoints.js';
import { ClusterPage } from './cluster.js';
import { AccessPage } from './access.js';

const NAV = [
  ['/datasets', 'Datasets'],
  ['/jobs', 'Jobs'],
  ['/models', 'Models'],
  ['/endpoints', 'Endpoints'],
  ['/cluster', 'Cluster & usage'],
  ['/access', 'Access'],
] as const;

export function App() {
  const [signedIn, setSignedIn] = useState(Boolean(client.apiKey));
  const [tenants, setTenants] = useState<Tenant[]>([]);
  const [tenant, setTenantState] = useState(client.tenant ?? '');
  const { path } = useLocation();

  useEffect(() => {
    if (!signedIn) return;
    client.tenants.list().then(setTenants, (err) => {
      if ((err as { status?: number }).status === 401) {
        signOut();
        setSignedIn(false);
      }
    });
  }, [signedIn]);

  if (!signedIn) return <SignIn onDone={() => setSignedIn(true)} />;
  if (path === '/' || path === '/login') {
    queueMicrotask(() => navigate('/datasets'));
    return null;
  }
  const section = NAV.find(([p]) => path === p || path.startsWith(p + '/'))?.[0];
  return (
    <div className="shell">
      <header className="top">
        <Link to="/datasets" className="brand">aiaas</Link>
        <nav aria-label="main">
          {NAV.map(([to, label]) => <Link key={to} to={to} aria-current={section === to ? 'page' : undefined}>{label}</Link>)}
        </nav>
        <div className="account">
          {tenants.length > 1 && (
            <label>
              <span className="sr-only">Tenant</span>
              <select
                aria-label="tenant"
                value={tenant}
                onChange={(e) => {
                  setTenant(e.target.value || undefined);
                  setTenantState(e.target.value);
                  navigate('/datasets');
                }}
              >
                <option value="">own tenant</option>
                {tenants.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
              </select>
            </label>
          )}
          <button type="button" className="link" onClick={() => { signOut(); setSignedIn(false); }}>Sign out</button>
        </div>
      </header>
      <main key={`${tenant}`}>
        <Page path={path} />
      </main>
    </div>
  );
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
  if (path === '/cluster') return <ClusterPage />;
  if (path === '/access') return <AccessPage />;
  return <section><h1>Not found</h1><p>No console page at {path}. <Link to="/datasets">Go to datasets</Link>.</p></section>;
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
