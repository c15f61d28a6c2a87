/** The console's one SDK client (same origin), its sign-in state, and small hooks. */
import { createContext, useCallback, useContext, useEffect, useRef, useState } from 'react';
import { AiaasClient, ApiError, type Whoami } from '../../src/sdk/index.js';

export { ApiError };
const KEY = 'aiaas.apiKey';
const TENANT = 'aiaas.tenant';

export const client = new AiaasClient({
  url: '',
  apiKey: sessionStorage.getItem(KEY) ?? undefined,
  tenant: sessionStorage.getItem(TENANT) ?? undefined,
});

export function signIn(key: string): void {
  client.apiKey = key;
  sessionStorage.setItem(KEY, key);
}

export function signOut(): void {
  client.apiKey = undefined;
  client.tenant = undefined;
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(TENANT);
}

export function setTenant(tenant: string | undefined): void {
  client.tenant = tenant;
  if (tenant) sessionStorage.setItem(TENANT, tenant);
  else sessionStorage.removeItem(TENANT);
}

export function message(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

/** Loads data with the SDK; `reload` fetches again; `every` (ms) polls. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], every?: number) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const loadRef = useRef(load);
  loadRef.current = load;
  const reload = useCallback(async () => {
    try {
      setData(await loadRef.current());
      setError(undefined);
    } catch (err) {
      setError(message(err));
    }
  }, []);
  useEffect(() => {
    setData(undefined);
    void reload();
    if (!every) return;
    const t = setInterval(() => void reload(), every);
    return () => clearInterval(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return { data, error, reload, setData };
}

/** Who is signed in (GET /v1/whoami), given by the shell to every page. */
export const MeContext = createContext<Whoami | undefined>(undefined);
export const useMe = () => useContext(MeContext);
