/**
 * Each command's options, declared once: `node:util`'s parseArgs reads them (per command, so `-f`
 * can follow logs in `jobs` and name the rows file in `predict`), unknown ones are refused with a
 * did-you-mean, and the command's `--help` is written from the same declarations, so the help can
 * never name an option the parser does not know (or miss one it does).
 */
import { parseArgs as parseArgv } from 'node:util';
import { closest } from '../../infra/did-you-mean.js';
import { UsageError, type Args, type Cli } from './common.js';

export interface OptionSpec {
  /** A boolean option takes no value (`--json`); a string one does (`--name iris`, `--name=iris`). */
  type: 'string' | 'boolean';
  short?: string;
  /** Repeatable (`--set a=1 --set b=2`): every value is kept, in order. */
  multiple?: boolean;
  /** The value's placeholder in the help (`--epochs N`). */
  value?: string;
  help: string;
}

export type Options = Record<string, OptionSpec>;

/** A client command: its help, its options, and what runs it. */
export interface Command {
  /** Usage lines without the leading `aiaas` (`train --name MODEL …`). */
  usage: string[];
  summary: string;
  /** Its own options; COMMON_OPTIONS are added to every client command. */
  options: Options;
  /** Whether the first positional is a subcommand (`datasets list`). */
  subcommands?: boolean;
  run: (cli: Cli, sub: string | undefined) => Promise<number>;
}

/** What every client command understands: output, and where the server and the key come from. */
export const COMMON_OPTIONS: Options = {
  json: { type: 'boolean', help: 'machine-readable output (JSON)' },
  url: { type: 'string', value: 'URL', help: 'the server (else AIAAS_URL, else the stored login)' },
  key: { type: 'string', value: 'KEY', help: 'the API key (else AIAAS_API_KEY, else the stored login)' },
  'api-key': { type: 'string', value: 'KEY', help: 'same as --key' },
  'tenant-context': { type: 'string', value: 'T', help: 'admins: act in tenant T (else AIAAS_TENANT)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

/** Only --help: the commands that take no options (server, worker). */
export const HELP_OPTION: Options = { help: COMMON_OPTIONS.help! };

/**
 * Parses `argv` against `options`. Refuses an option the command does not declare (naming the
 * closest declared one), a missing value and a value given to a boolean option.
 */
export function parseCommandArgs(command: string, argv: string[], options: Options): Args {
  const args = joinNegativeValues(argv, options);
  rejectUnknown(command, args, options);
  let parsed: ReturnType<typeof parseArgv>;
  try {
    parsed = parseArgv({ args, options: toNodeOptions(options), allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message.replace(/\.$/, '')}.`, command);
  }
  const flags = new Map<string, string[]>();
  for (const [name, v] of Object.entries(parsed.values)) {
    if (v === undefined) continue;
    flags.set(name, (Array.isArray(v) ? v : [v]).map(String));
  }
  return { positionals: parsed.positionals, flags };
}

function toNodeOptions(options: Options): NonNullable<Parameters<typeof parseArgv>[0]>['options'] {
  return Object.fromEntries(Object.entries(options).map(([name, o]) => [name, {
    type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}),
  }]));
}

/** `--priority -1`: parseArgs takes `-1` for an option; a number after a string option is its value. */
function joinNegativeValues(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return [...out, ...argv.slice(i)];
    const next = argv[i + 1];
    if (next !== undefined && /^-\d/.test(next) && stringOption(a, options)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

function stringOption(arg: string, options: Options): boolean {
  if (arg.startsWith('--')) return options[arg.slice(2)]?.type === 'string';
  if (/^-[^-]$/.test(arg)) return Object.values(options).some((o) => o.short === arg[1] && o.type === 'string');
  return false;
}

function rejectUnknown(command: string, args: string[], options: Options): void {
  const { tokens } = parseArgv({ args, options: toNodeOptions(options), allowPositionals: true, strict: false, tokens: true });
  for (const t of tokens) {
    if (t.kind !== 'option' || options[t.name]) continue;
    const names = Object.keys(options).map((n) => `--${n}`);
    const guess = closest(t.rawName.startsWith('--') ? t.rawName : `--${t.name}`, names);
    throw new UsageError(`'${command}' has no option '${t.rawName}'.${guess ? ` Did you mean '${guess}'?` : ''}`, command);
  }
}

/** One command's help: its usage lines, what it does, then its options and the common ones. */
export function commandHelp(usage: string[], summary: string, options: Options, common: Options): string {
  const own = Object.entries(options).filter(([name]) => !common[name]);
  const lines = ['Usage:', ...usage.map((u) => `  aiaas ${u}`), '', summary];
  if (own.length) lines.push('', 'Options:', ...optionLines(own));
  const shared = Object.entries(common);
  if (shared.length) lines.push('', 'Common options:', ...optionLines(shared));
  return lines.join('\n') + '\n';
}

function optionLines(entries: Array<[string, OptionSpec]>): string[] {
  const left = entries.map(([name, o]) => `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  return entries.map(([, o], i) => `  ${left[i]!.padEnd(width)}${o.help}${o.multiple ? ' (repeatable)' : ''}`);
}
