/** aiaas datasets upload|list|show|rows|delete */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Cli, UsageError, ago, bytes, fields, fmt, table } from './common.js';
import type { Command } from './options.js';

export async function datasets(cli: Cli, sub: string | undefined): Promise<number> {
  const client = cli.client();
  switch (sub) {
    case 'list':
    case undefined: {
      const list = await client.datasets.list();
      cli.print(list, () => table(['NAME', 'VERSION', 'ROWS', 'COLUMNS', 'SIZE', 'UPDATED'], list.map((d) => [d.name, d.latestVersion, d.rows, d.columns, bytes(d.bytes), ago(d.updatedAt)])));
      return 0;
    }
    case 'upload': {
      const file = cli.arg(1, 'the file (aiaas datasets upload FILE [--name NAME])');
      let stat: fs.Stats;
      try {
        stat = fs.statSync(file);
      } catch {
        throw new UsageError(`cannot read '${file}': no such file.`);
      }
      const filename = path.basename(file);
      const body = Readable.toWeb(fs.createReadStream(file)) as unknown as ReadableStream<Uint8Array>;
      const format = cli.flag('format');
      if (format !== undefined && format !== 'csv' && format !== 'jsonl' && format !== 'text') throw new UsageError('--format is csv, jsonl or text.');
      if (!cli.json && process.stderr.isTTY) cli.err(`Uploading ${filename} (${bytes(stat.size)})…`);
      const v = await client.datasets.upload(body, { name: cli.flag('name'), format, filename });
      cli.print(v, () => `Uploaded ${v.name} version ${v.version}: ${v.rows} rows, ${v.columns.length} columns, ${bytes(v.bytes)}.\n\n${profileTable(v.columns)}`);
      return 0;
    }
    case 'show': {
      const v = await client.datasets.get(cli.arg(1, 'the dataset (aiaas datasets show NAME)'), cli.number('version', { integer: true, min: 1 }));
      cli.print(v, () => `${fields([['name', v.name], ['id', v.id], ['version', v.version], ['format', v.format], ['file', v.filename], ['rows', v.rows], ['size', bytes(v.bytes)], ['created', v.createdAt]])}\n\n${profileTable(v.columns)}`);
      return 0;
    }
    case 'rows': {
      const r = await client.datasets.rows(cli.arg(1, 'the dataset (aiaas datasets rows NAME)'), {
        offset: cli.number('offset', { integer: true, min: 0 }) ?? 0, limit: cli.number('limit', { integer: true, min: 1 }) ?? 20,
        version: cli.number('version', { integer: true, min: 1 }),
      });
      const cols = r.rows.length ? Object.keys(r.rows[0]!) : [];
      cli.print(r, () => `${table(cols.map((c) => c.toUpperCase()), r.rows.map((row) => cols.map((c) => row[c])))}\n(rows ${r.offset}–${r.offset + r.rows.length - 1} of ${r.total})`);
      return 0;
    }
    case 'delete': {
      const r = await client.datasets.delete(cli.arg(1, 'the dataset (aiaas datasets delete NAME)'), cli.number('version', { integer: true, min: 1 }));
      cli.print(r, () => `Deleted ${r.name} versions ${r.deletedVersions.join(', ')}.`);
      return 0;
    }
    default:
      throw new UsageError(`unknown subcommand 'datasets ${sub}': use upload, list, show, rows or delete.`);
  }
}

function profileTable(columns: Array<{ name: string; type: string; missing: number; distinct: number; min?: number; max?: number; mean?: number; topValues?: Array<{ value: unknown }> }>): string {
  return table(['COLUMN', 'TYPE', 'MISSING', 'DISTINCT', 'MIN', 'MAX', 'MEAN', 'TOP'], columns.map((c) => [
    c.name, c.type, c.missing, c.distinct, c.min, c.max, c.mean === undefined ? undefined : fmt(c.mean),
    c.topValues?.slice(0, 3).map((t) => String(t.value)).join(', '),
  ]));
}

export const datasetsCommand: Command = {
  usage: ['datasets list | upload FILE [--name N] | show NAME | rows NAME [--offset O --limit L] | delete NAME'],
  summary: 'Uploads datasets (CSV, JSON lines, text) and shows their profiles and rows.',
  options: {
    name: { type: 'string', value: 'N', help: 'upload: the dataset name (default: the file name)' },
    format: { type: 'string', value: 'F', help: 'upload: csv, jsonl or text (default: from the file name)' },
    version: { type: 'string', value: 'V', help: 'show, rows, delete: one version (default: the latest; delete: all)' },
    offset: { type: 'string', value: 'O', help: 'rows: the first row (0)' },
    limit: { type: 'string', value: 'L', help: 'rows: how many rows (20)' },
  },
  subcommands: true,
  run: datasets,
};
