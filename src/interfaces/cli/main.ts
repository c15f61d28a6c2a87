/**
 * The `aiaas` command. `aiaas server` runs the platform (what `npm start` runs).
 */
import { closest } from '../../infra/did-you-mean.js';
import { CLIENT_COMMANDS, CLIENT_HELP, runClientCommand } from './client-commands.js';
import { reportError } from './common.js';
import { HELP_OPTION, parseCommandArgs } from './options.js';

const HELP = `aiaas: AI models as a service

Usage: aiaas <command> [options]

Commands:
  server        Run the platform (API, console, scheduler) on this machine.
                Configuration comes from the environment: PORT, HOST, AIAAS_HOME,
                AIAAS_ADMIN_KEY, AIAAS_DATABASE_URL, AIAAS_CPU,
                AIAAS_MEMORY_MB, AIAAS_GPUS (see README).
  worker        Run only a node agent: offer this machine's AIAAS_CPU, AIAAS_MEMORY_MB
                and AIAAS_GPUS to the server's scheduler and run the jobs it places
                here. Needs the server's store: the same AIAAS_HOME, or
                AIAAS_DATABASE_URL plus an AIAAS_HOME on a shared filesystem.
  help          Show this help.

Options:
  -h, --help    Show this help.
  -v, --version Show the version.

${CLIENT_HELP}`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '-h' || command === '--help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (command === '-v' || command === '--version') {
    const { API_VERSION } = await import('../http/app.js');
    process.stdout.write(`${API_VERSION}\n`);
    return 0;
  }
  if (command === 'server' || command === 'worker') return runLocal(command, rest);
  const code = await runClientCommand(command, rest);
  if (code !== undefined) return code;
  const guess = closest(command, ['server', 'worker', 'help', ...CLIENT_COMMANDS]);
  process.stderr.write(`aiaas: unknown command '${command}'.${guess ? ` Did you mean '${guess}'?` : ''} Run 'aiaas --help' for the list.\n`);
  return 2;
}

/** `aiaas server` and `aiaas worker`: configured by the environment, so --help is their only option. */
async function runLocal(command: 'server' | 'worker', argv: string[]): Promise<number> {
  try {
    const { positionals } = parseCommandArgs(command, argv, HELP_OPTION);
    if (argv.length && !positionals.length) {
      process.stdout.write(HELP);
      return 0;
    }
    if (positionals.length) {
      process.stderr.write(`aiaas: '${command}' takes no arguments (its configuration is the environment); got '${positionals[0]}'.\n`);
      return 2;
    }
  } catch (err) {
    return reportError(err);
  }
  if (command === 'server') {
    const { runServer } = await import('../server.js');
    await runServer();
  } else {
    const { runWorkerNode } = await import('../worker-node.js');
    await runWorkerNode();
  }
  return -1; // keeps running
}
