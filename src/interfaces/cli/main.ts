/**
 * The `aiaas` command. `aiaas server` runs the platform (what `npm start` runs).
 */
import { runServer } from '../server.js';

const HELP = `aiaas: AI models as a service

Usage: aiaas <command> [options]

Commands:
  server        Run the platform (API, console, scheduler) on this machine.
                Configuration comes from the environment: PORT, HOST, AIAAS_HOME,
                AIAAS_ADMIN_KEY, AIAAS_DATABASE_URL, AIAAS_WORKERS, AIAAS_CPU,
                AIAAS_MEMORY_MB, AIAAS_GPUS (see README).
  help          Show this help.

Options:
  -h, --help    Show this help.
  -v, --version Show the version.
`;

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
  if (command === 'server') {
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(HELP);
      return 0;
    }
    await runServer();
    return -1; // keeps running
  }
  process.stderr.write(`aiaas: unknown command '${command}'. Run 'aiaas --help' for the list.\n`);
  return 2;
}
