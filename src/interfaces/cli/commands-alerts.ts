/** aiaas alerts list | show ID | create … | delete ID */
import type { CreateAlert } from '../../sdk/index.js';
import { Cli, UsageError, ago, table } from './common.js';
import type { Command } from './options.js';

const value = (v: number | null) => (v === null ? '–' : Number.isInteger(v) ? String(v) : v.toPrecision(3));
const CREATE_USAGE = 'aiaas alerts create --name N [--endpoint E] --metric drift|p99LatencyMs|errorRate|requestsPerSecond --op ">" --threshold X --window SECONDS --webhook URL --secret S';

export async function alerts(cli: Cli, sub: string | undefined): Promise<number> {
  const client = cli.client();
  if (sub === 'list' || sub === undefined) {
    const list = await client.alerts.list();
    cli.print(list, () => table(['ID', 'NAME', 'STATE', 'RULE', 'ENDPOINT', 'VALUE', 'SINCE'],
      list.map((a) => [a.id, a.name, a.state, `${a.metric} ${a.op} ${a.threshold} over ${a.windowSeconds}s`, a.endpoint ?? '(all)', value(a.value), ago(a.stateSince)])));
    return 0;
  }
  if (sub === 'show') {
    const a = await client.alerts.get(cli.arg(1, 'the alert id (aiaas alerts show ID)'));
    cli.print(a, () => [
      `${a.name} (${a.id}): ${a.state} since ${a.stateSince}; ${a.metric} ${a.op} ${a.threshold} over ${a.windowSeconds} s on ${a.endpoint ?? 'all endpoints'}`,
      `value ${value(a.value)}${a.message ? ` (${a.message})` : ''}; webhook ${a.webhook.url}`,
      'history:', ...(a.history.length ? a.history.map((h) => `  ${h.at} ${h.state} at ${value(h.value)}`) : ['  (no change of state yet)']),
      'deliveries:', table(['ID', 'STATE', 'ATTEMPTS', 'LAST STATUS', 'DELIVERED', 'NEXT ATTEMPT'],
        (a.deliveries ?? []).map((d) => [d.id, d.state, d.attempts, d.lastStatus ?? d.lastError ?? '', d.deliveredAt ?? (d.failedAt ? 'gave up' : ''), d.nextAttemptAt ?? ''])),
    ].join('\n'));
    return 0;
  }
  if (sub === 'create') {
    const [name, metric, op, threshold, window, url, secret] = ['name', 'metric', 'op', 'threshold', 'window', 'webhook', 'secret'].map((f) => cli.flag(f));
    if (!name || !metric || !op || threshold === undefined || window === undefined || !url || !secret) throw new UsageError(CREATE_USAGE);
    const number = (s: string, flag: string) => {
      const n = Number(s);
      if (s.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${flag} must be a number, not '${s}'.`);
      return n;
    };
    const endpoint = cli.flag('endpoint');
    const body: CreateAlert = {
      name, metric: metric as CreateAlert['metric'], op: op as CreateAlert['op'], threshold: number(threshold, 'threshold'),
      windowSeconds: number(window, 'window'), webhook: { url, secret }, ...(endpoint ? { endpoint } : {}),
    };
    const a = await client.alerts.create(body);
    cli.print(a, () => `Created alert ${a.name} (${a.id}): ${a.metric} ${a.op} ${a.threshold} over ${a.windowSeconds} s.`);
    return 0;
  }
  if (sub === 'delete') {
    const a = await client.alerts.delete(cli.arg(1, 'the alert id (aiaas alerts delete ID)'));
    cli.print(a, () => `Deleted alert ${a.name} (${a.id}).`);
    return 0;
  }
  throw new UsageError(`unknown subcommand 'alerts ${sub}': use list, show, create or delete.`);
}

export const alertsCommand: Command = {
  usage: ['alerts list | show ID | delete ID', `alerts create --name N [--endpoint E] --metric M --op OP --threshold X --window S --webhook URL --secret S`],
  summary: 'Alerts on drift, p99 latency, error rate or requests/s; each change of state is POSTed, signed, to the webhook.',
  options: {
    name: { type: 'string', value: 'N', help: 'create: the alert\'s name' },
    endpoint: { type: 'string', value: 'E', help: 'create: the endpoint watched (default: all of the tenant\'s)' },
    metric: { type: 'string', value: 'M', help: 'create: drift, p99LatencyMs, errorRate or requestsPerSecond' },
    op: { type: 'string', value: 'OP', help: 'create: >, >=, < or <=' },
    threshold: { type: 'string', value: 'X', help: 'create: the threshold' },
    window: { type: 'string', value: 'S', help: 'create: the window, seconds' },
    webhook: { type: 'string', value: 'URL', help: 'create: the http(s) URL POSTed at each change of state' },
    secret: { type: 'string', value: 'S', help: 'create: the HMAC-SHA256 key of X-Aiaas-Signature' },
  },
  subcommands: true,
  run: alerts,
};
