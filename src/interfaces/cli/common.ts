/**
 * What every client command shares: the parsed arguments, the stored login (a 0600 config file),
 * the SDK client, output (human tables or --json) and exit codes.
 *
 * Exit codes: 0 success · 1 the API answered an error (its message on stderr) · 2 usage error ·
 * 3 the server cannot be reached · 4 a job that was waited for failed or was cancelled.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AiaasClient, ApiError, type JobMetrics } from '../../sdk/index.js';

export const EXIT = { ok: 0, api: 1, usage: 2, network: 3, jobFailed: 4 } as const;

/** A mistake in the command line: exit code 2, with a hint (the command's own --help when known). */
export class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
  }
}

export class CommandFailed extends Error {
  constructor(message: string, readonly code: number) {
    super(message);
  }
}

/** A command line read against the command's declared options (options.ts). */
export interface Args {
  positionals: string[];
  flags: Map<string, string[]>;
}

export class Cli {
  constructor(readonly args: Args, readonly env: NodeJS.ProcessEnv = process.env) {}

  /** The option's value; with aliases (`--key` / `--api-key`), the first one given. */
  flag(name: string, ...aliases: string[]): string | undefined {
    for (const n of [name, ...aliases]) {
      const v = this.args.flags.get(n);
      if (v?.length) return v[v.length - 1];
    }
    return undefined;
  }

  flags(name: string): string[] {
    return this.args.flags.get(name) ?? [];
  }

  bool(name: string, ...aliases: string[]): boolean {
    const v = this.flag(name, ...aliases);
    return v !== undefined && v !== 'false' && v !== '0';
  }

  number(name: string, opts: { integer?: boolean; min?: number; max?: number } = {}): number | undefined {
    const v = this.flag(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || (opts.integer && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
      throw new UsageError(`--${name} must be ${opts.integer ? 'an integer' : 'a number'}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}${opts.max !== undefined ? ` ≤ ${opts.max}` : ''}; got '${v}'.`);
    }
    return n;
  }

  /** The i-th positional argument, required. */
  arg(i: number, what: string): string {
    const v = this.args.positionals[i];
    if (v === undefined) throw new UsageError(`missing ${what}.`);
    return v;
  }

  get json(): boolean {
    return this.bool('json');
  }

  /** The client: flags, then AIAAS_URL / AIAAS_API_KEY / AIAAS_TENANT, then the stored login. */
  client(): AiaasClient {
    const stored = readConfig(this.env);
    const url = this.flag('url') ?? this.env.AIAAS_URL ?? stored.url ?? 'http://127.0.0.1:8080';
    const apiKey = this.flag('key', 'api-key') ?? this.env.AIAAS_API_KEY ?? stored.key;
    const tenant = this.flag('tenant-context') ?? this.env.AIAAS_TENANT ?? stored.tenant;
    return new AiaasClient({ url, apiKey, tenant: tenant || undefined });
  }

  out(text: string): void {
    process.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }

  err(text: string): void {
    process.stderr.write(text.endsWith('\n') ? text : text + '\n');
  }

  /** --json: the value as JSON; otherwise the human rendering. */
  print(value: unknown, human: () => string): void {
    this.out(this.json ? JSON.stringify(value, null, 2) : human());
  }
}

// ---- the stored login ----

export interface StoredConfig {
  url?: string;
  key?: string;
  tenant?: string;
}

/** $AIAAS_CONFIG, else $XDG_CONFIG_HOME/aiaas/config.json, else ~/.config/aiaas/config.json. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AIAAS_CONFIG) return env.AIAAS_CONFIG;
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'aiaas', 'config.json');
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): StoredConfig {
  const file = configPath(env);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as StoredConfig;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}. Run 'aiaas login' again.`);
  }
}

/** Writes the config with mode 0600 (directory 0700): it holds an API key. */
export function writeConfig(config: StoredConfig, env: NodeJS.ProcessEnv = process.env): string {
  const file = configPath(env);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
  return file;
}

// ---- human output ----

/** A plain-text table: header row, then rows; columns padded to their widest cell. */
export function table(headers: string[], rows: Array<Array<unknown>>): string {
  const cells = [headers, ...rows.map((r) => r.map(cell))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  if (!rows.length) return `${line(headers)}\n(none)`;
  return cells.map(line).join('\n');
}

/** key: value lines. */
export function fields(obj: Array<[string, unknown]>): string {
  const w = Math.max(...obj.map(([k]) => k.length));
  return obj.filter(([, v]) => v !== undefined).map(([k, v]) => `${(k + ':').padEnd(w + 1)} ${cell(v)}`).join('\n');
}

export function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') return fmt(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** "accuracy 0.9  f1 0.88": the numeric fields of an object, in `keys` order when given. */
export function scalars(o: object, keys?: string[]): string {
  const r = o as Record<string, unknown>;
  return (keys ?? Object.keys(r)).filter((k) => typeof r[k] === 'number').map((k) => `${k} ${fmt(r[k] as number)}`).join('  ');
}

/** A job's or version's test metrics (API.md's `metrics.test`). */
export function testMetricsOf(m: JobMetrics): Record<string, unknown> {
  return (m.test ?? {}) as Record<string, unknown>;
}

/** "Cross-validation (5 folds): accuracy 0.95 ± 0.02  …", or '' without cross-validation. */
export function crossValidationLine(m: JobMetrics, keys: string[]): string {
  const cv = m.crossValidation;
  if (!cv) return '';
  const parts = keys.filter((k) => typeof cv[k] === 'object').map((k) => { const v = cv[k] as { mean: number; std: number }; return `${k} ${fmt(v.mean)} ± ${fmt(v.std)}`; });
  return parts.length ? `Cross-validation (${cv.folds} folds): ${parts.join('  ')}` : '';
}

export function fmt(n: number): string {
  if (Number.isInteger(n)) return String(n);
  const a = Math.abs(n);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return n.toExponential(3);
  return n.toFixed(4).replace(/0+$/, '').replace(/\.$/, '');
}

export function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i ? v.toFixed(1) : v} ${units[i]}`;
}

export function ago(iso: string | null | undefined): string {
  if (!iso) return '-';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return iso.slice(0, 10);
}

/** Maps an error to its message and exit code (no stack traces for expected failures). */
export function reportError(err: unknown): number {
  if (err instanceof UsageError) {
    process.stderr.write(`aiaas: ${err.message}\nRun 'aiaas ${err.command ? `${err.command} ` : ''}--help' for usage.\n`);
    return EXIT.usage;
  }
  if (err instanceof CommandFailed) {
    process.stderr.write(`aiaas: ${err.message}\n`);
    return err.code;
  }
  if (err instanceof ApiError) {
    if (err.status === 0) {
      process.stderr.write(`aiaas: ${err.message}\nIs the server running? Set the URL with 'aiaas login --url URL' or AIAAS_URL.\n`);
      return EXIT.network;
    }
    const details = Object.keys(err.details).length ? ` ${JSON.stringify(err.details)}` : '';
    process.stderr.write(`aiaas: ${err.message} (HTTP ${err.status} ${err.code})${details}\n`);
    return EXIT.api;
  }
  process.stderr.write(`aiaas: ${err instanceof Error ? err.message : String(err)}\n`);
  return EXIT.api;
}
