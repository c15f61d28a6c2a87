/** aiaas login / logout, tenants, keys, quota, cluster, usage, and the raw `api` call. */
import { AiaasClient, ApiError } from '../../sdk/index.js';
import { Cli, UsageError, ago, bytes, configPath, fields, fmt, readConfig, table, writeConfig } from './common.js';
import type { Command, Options } from './options.js';

export async function login(cli: Cli): Promise<number> {
  const stored = readConfig(cli.env);
  const url = (cli.flag('url') ?? cli.args.positionals[0] ?? cli.env.AIAAS_URL ?? stored.url ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  let key = cli.flag('key', 'api-key') ?? cli.env.AIAAS_API_KEY;
  if (key === '-' || (!key && !process.stdin.isTTY)) key = (await readStdin()).trim();
  if (!key) throw new UsageError('give the API key: aiaas login --url URL --key KEY (or pipe it: echo $KEY | aiaas login --url URL --key -).');
  const tenant = cli.flag('tenant-context');
  const client = new AiaasClient({ url, apiKey: key, tenant });
  // Check the key before storing it: any authenticated read will do (inference keys get 403, which is fine).
  let who = '';
  try {
    const tenants = await client.tenants.list();
    who = tenants.length === 1 ? ` (tenant ${tenants[0]!.name})` : ` (${tenants.length} tenants visible: admin)`;
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 403) throw err;
  }
  const file = writeConfig({ url, key, ...(tenant ? { tenant } : {}) }, cli.env);
  cli.print({ url, config: file }, () => `Logged in to ${url}${who}. Saved to ${file} (mode 0600).`);
  return 0;
}

export async function logout(cli: Cli): Promise<number> {
  const file = writeConfig({}, cli.env);
  cli.print({ config: file }, () => `Logged out; ${file} no longer holds a key.`);
  return 0;
}

export async function whoami(cli: Cli): Promise<number> {
  const client = cli.client();
  const me = await client.whoami();
  const info = { url: client.url, config: configPath(cli.env), ...me };
  const acting = me.actingTenant.id === me.tenant.id ? '' : ` (acting in ${me.actingTenant.name})`;
  cli.print(info, () => fields([
    ['url', info.url], ['config', info.config], ['key', `${me.key.name} (${me.key.id})`], ['role', me.key.role],
    ['tenant', `${me.tenant.name}${acting}`], ['can grant', me.canGrant.join(', ') || '–'],
  ]));
  return 0;
}

export async function tenants(cli: Cli, sub: string | undefined): Promise<number> {
  const client = cli.client();
  if (sub === 'list' || sub === undefined) {
    const list = await client.tenants.list();
    cli.print(list, () => table(['ID', 'NAME', 'CREATED'], list.map((t) => [t.id, t.name, ago(t.createdAt)])));
    return 0;
  }
  if (sub === 'create') {
    const t = await client.tenants.create(cli.arg(1, 'the tenant name (aiaas tenants create NAME)'));
    cli.print(t, () => `Created tenant ${t.name} (${t.id}).`);
    return 0;
  }
  throw new UsageError(`unknown subcommand 'tenants ${sub}': use list or create.`);
}

export async function keys(cli: Cli, sub: string | undefined): Promise<number> {
  const client = cli.client();
  if (sub === 'list' || sub === undefined) {
    const list = await client.keys.list(cli.flag('tenant'));
    cli.print(list, () => table(['ID', 'NAME', 'ROLE', 'TENANT', 'HINT', 'LAST USED', 'REVOKED'], list.map((k) => [k.id, k.name, k.role, k.tenant, k.hint, ago(k.lastUsedAt), k.revokedAt ? 'yes' : ''])));
    return 0;
  }
  if (sub === 'create') {
    const name = cli.flag('name') ?? cli.args.positionals[1];
    const role = cli.flag('role');
    if (!name || !role) throw new UsageError('aiaas keys create --name NAME --role admin|developer|viewer|inference [--tenant T] [--endpoint E]');
    const k = await client.keys.create({ name, role: role as never, tenant: cli.flag('tenant'), endpoint: cli.flag('endpoint') });
    // The secret alone on stdout (for $(…)) unless --json; the explanation on stderr.
    if (cli.json) cli.out(JSON.stringify(k, null, 2));
    else {
      cli.out(k.key);
      cli.err(`Created ${k.role} key '${k.name}' (${k.id}); the key above is shown only once.`);
    }
    return 0;
  }
  if (sub === 'revoke') {
    const k = await client.keys.revoke(cli.arg(1, 'the key id (aiaas keys revoke ID)'));
    cli.print(k, () => `Revoked key ${k.name} (${k.id}).`);
    return 0;
  }
  throw new UsageError(`unknown subcommand 'keys ${sub}': use list, create or revoke.`);
}

/** `quota set` flags → the quota's fields. */
const QUOTA_FLAGS = {
  'max-cpu': 'maxCpu', 'max-gpu': 'maxGpu', 'max-concurrent-jobs': 'maxConcurrentJobs', 'monthly-cpu-seconds': 'monthlyCpuSeconds',
  // Serving quotas: 'none' puts them back to their defaults.
  'max-endpoints': 'maxEndpoints', 'max-replicas-per-endpoint': 'maxReplicasPerEndpoint', 'max-replicas': 'maxReplicas',
} as const;

export async function quota(cli: Cli, sub: string | undefined): Promise<number> {
  const client = cli.client();
  const tenant = cli.arg(1, 'the tenant (aiaas quota show|set TENANT)');
  if (sub === 'show') {
    const q = await client.tenants.quota(tenant);
    cli.print(q, () => fields(Object.entries(q).map(([k, v]) => [k, v ?? 'no limit'])));
    return 0;
  }
  if (sub === 'set') {
    const patch: Record<string, number | null> = {};
    const flags = Object.entries(QUOTA_FLAGS);
    for (const [flag, field] of flags) {
      const v = cli.flag(flag);
      if (v === undefined) continue;
      if (v === 'none' || v === 'null') patch[field] = null;
      else {
        const n = Number(v);
        if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${flag} must be a number ≥ 0 or 'none'.`);
        patch[field] = n;
      }
    }
    if (!Object.keys(patch).length) throw new UsageError(`give at least one of ${flags.map(([f]) => `--${f}`).join(', ')} (a number, or none).`);
    const q = await client.tenants.setQuota(tenant, patch);
    cli.print(q, () => fields(Object.entries(q).map(([k, v]) => [k, v ?? 'no limit'])));
    return 0;
  }
  throw new UsageError(`unknown subcommand 'quota ${sub}': use show or set.`);
}

export async function cluster(cli: Cli): Promise<number> {
  const c = await cli.client().cluster();
  cli.print(c, () => [
    `Executor: ${c.executor} · capacity: ${fmt(c.capacity.cpu)} CPU, ${fmt(c.capacity.memoryMb)} MB, ${c.capacity.gpu} GPU · queue: ${c.queue.queued} queued, ${c.queue.running} running`,
    '',
    table(['NODE', 'HOST', 'ALIVE', 'CPU', 'MEMORY MB', 'GPU', 'JOBS'], c.nodes.map((n) => [
      n.id, n.hostname, n.alive ? 'yes' : 'no', `${fmt(n.allocated.cpu)}/${fmt(n.cpu)}`, `${fmt(n.allocated.memoryMb)}/${fmt(n.memoryMb)}`,
      `${n.allocated.gpu}/${n.gpus}`, n.allocated.jobs,
    ])),
    '',
    table(['API NODE', 'HOST', 'PID', 'ALIVE', 'STARTED'], c.apiNodes.map((n) => [`${n.name}${n.self ? ' (this one)' : ''}`, n.hostname, n.pid, n.alive ? 'yes' : 'no', n.startedAt])),
    '',
    table(['TENANT', 'SHARE', 'CPU', 'JOBS', 'QUEUED'], c.tenants.map((t) => [t.name, `${(t.share * 100).toFixed(1)}%`, fmt(t.usage.cpu), t.usage.jobs, t.queued])),
    ...(c.slurm ? ['', table(['SLURM NODE', 'STATE', 'CPU', 'MEMORY MB', 'GPU', 'JOBS'], c.slurm.nodes.map((n) => [
      n.name, n.state.toLowerCase() + (n.usable ? '' : ' (not usable)'), `${fmt(n.allocCpus)}/${fmt(n.cpus)}`,
      `${fmt(n.allocMemoryMb)}/${fmt(n.memoryMb)}`, n.gpus, n.jobs.map((j) => `${j.job} (Slurm ${j.slurmJobId})`).join(', '),
    ]))] : []),
  ].join('\n'));
  return 0;
}

export async function usage(cli: Cli): Promise<number> {
  const u = await cli.client().usage({ from: cli.flag('from'), to: cli.flag('to'), tenant: cli.flag('tenant') });
  cli.print(u, () => [
    `Usage from ${u.from} to ${u.to}`,
    table(['TENANT', 'CPU-S', 'GPU-S', 'JOBS', 'PREDICTIONS', 'STORAGE', 'COST'], u.data.map((t) => [
      t.name, fmt(t.cpuSeconds), fmt(t.gpuSeconds), t.jobs, t.predictions, bytes(t.storageBytes), t.cost.toFixed(4),
    ])),
  ].join('\n'));
  return 0;
}

/** `aiaas api METHOD PATH [--data JSON]`: any route, answered as JSON. */
export async function api(cli: Cli): Promise<number> {
  const method = cli.arg(0, 'the method (aiaas api GET /v1/datasets)').toUpperCase();
  const path = cli.arg(1, 'the path (aiaas api GET /v1/datasets)');
  const data = cli.flag('data');
  let json: unknown;
  if (data !== undefined) {
    try {
      json = JSON.parse(data);
    } catch (err) {
      throw new UsageError(`--data is not JSON: ${(err as Error).message}`);
    }
  }
  const res = await cli.client().raw(method, path, { json });
  const text = await res.text();
  cli.out(text);
  return 0;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const none = (usage: string, summary: string, run: Command['run'], subcommands = false): Command => ({ usage: [usage], summary, options: {}, run, subcommands });

export const loginCommand: Command = {
  usage: ['login [--url URL] --key KEY'],
  summary: 'Checks the key, then stores the server URL and API key in ~/.config/aiaas/config.json (mode 0600; AIAAS_CONFIG moves it). --key - reads the key from stdin.',
  options: {},
  run: login,
};
export const logoutCommand = none('logout', 'Forgets the stored API key.', logout);
export const whoamiCommand = none('whoami', 'The key, its role and tenant, and the server in use.', whoami);
export const tenantsCommand = none('tenants list | create NAME', 'Tenants (admins).', tenants, true);

export const keysCommand: Command = {
  usage: ['keys list [--tenant T] | create --name N --role ROLE [--tenant T] [--endpoint E] | revoke ID'],
  summary: 'API keys. create prints the secret alone on stdout (for $(…)); it is shown only once.',
  options: {
    name: { type: 'string', value: 'N', help: 'create: the key\'s name' },
    role: { type: 'string', value: 'ROLE', help: 'create: admin, developer, viewer or inference' },
    tenant: { type: 'string', value: 'T', help: 'the tenant (admins)' },
    endpoint: { type: 'string', value: 'E', help: 'create: an inference key for this endpoint only' },
  },
  subcommands: true,
  run: keys,
};

const QUOTA_OPTIONS: Options = Object.fromEntries(Object.keys(QUOTA_FLAGS).map((f) => [f, { type: 'string', value: 'N|none', help: 'set: the limit (none: no limit for jobs, the default for serving)' }]));

export const quotaCommand: Command = {
  usage: ['quota show TENANT | set TENANT [--max-cpu N --max-gpu N --max-concurrent-jobs N --monthly-cpu-seconds N', '      --max-endpoints N --max-replicas-per-endpoint N --max-replicas N]'],
  summary: 'A tenant\'s quotas (a number, or none: no limit for jobs, the default for serving).',
  options: QUOTA_OPTIONS,
  subcommands: true,
  run: quota,
};

export const clusterCommand = none('cluster', 'The nodes, their capacity and allocations, and each tenant\'s share.', cluster);

export const usageCommand: Command = {
  usage: ['usage [--from DATE --to DATE --tenant T]'],
  summary: 'Metered usage and cost per tenant.',
  options: {
    from: { type: 'string', value: 'DATE', help: 'the period\'s start (an ISO date)' },
    to: { type: 'string', value: 'DATE', help: 'the period\'s end (an ISO date)' },
    tenant: { type: 'string', value: 'T', help: 'one tenant (admins)' },
  },
  run: usage,
};

export const apiCommand: Command = {
  usage: ['api METHOD PATH [--data JSON]'],
  summary: 'Any route, answered as JSON.',
  options: { data: { type: 'string', short: 'd', value: 'JSON', help: 'the request body' } },
  run: api,
};
