/** The client commands of `aiaas` (everything but server and worker), all through the SDK. */
import {
  apiCommand, clusterCommand, keysCommand, loginCommand, logoutCommand, quotaCommand, tenantsCommand, usageCommand, whoamiCommand,
} from './commands-account.js';
import { alertsCommand } from './commands-alerts.js';
import { chatCommand } from './commands-chat.js';
import { datasetsCommand } from './commands-datasets.js';
import { jobsCommand, trainCommand, tuneCommand } from './commands-jobs.js';
import { optimizeCommand } from './commands-optimize.js';
import { deployCommand, endpointsCommand, explainCommand, modelsCommand, predictCommand } from './commands-serving.js';
import { Cli, UsageError, reportError } from './common.js';
import { COMMON_OPTIONS, commandHelp, parseCommandArgs, type Command } from './options.js';

const COMMANDS: Record<string, Command> = {
  login: loginCommand,
  logout: logoutCommand,
  whoami: whoamiCommand,
  tenants: tenantsCommand,
  keys: keysCommand,
  datasets: datasetsCommand,
  train: trainCommand,
  tune: tuneCommand,
  optimize: optimizeCommand,
  jobs: jobsCommand,
  models: modelsCommand,
  deploy: deployCommand,
  endpoints: endpointsCommand,
  predict: predictCommand,
  chat: chatCommand,
  explain: explainCommand,
  alerts: alertsCommand,
  cluster: clusterCommand,
  usage: usageCommand,
  quota: quotaCommand,
  api: apiCommand,
};

export const CLIENT_COMMANDS = Object.keys(COMMANDS);

/** The overview in `aiaas --help`: every command's usage lines, from its declaration. */
export const CLIENT_HELP = `Client commands (talk to a running server; 'aiaas COMMAND --help' lists a command's options):
${Object.values(COMMANDS).flatMap((c) => c.usage.map((u) => `  ${u}`)).join('\n')}

Common options: --json (machine-readable output) · --url URL · --key KEY · --tenant-context T
(admins: act in tenant T). AIAAS_URL, AIAAS_API_KEY and AIAAS_TENANT override the stored login.
Exit codes: 0 ok · 1 the API answered an error (its message on stderr) · 2 usage error ·
3 the server cannot be reached · 4 a job that was followed failed or was cancelled.
`;

/** Runs a client command; undefined when `command` is not one. */
export async function runClientCommand(command: string, argv: string[]): Promise<number | undefined> {
  const entry = COMMANDS[command];
  if (!entry) return undefined;
  try {
    const options = { ...entry.options, ...COMMON_OPTIONS };
    const cli = new Cli(parseCommandArgs(command, argv, options));
    if (cli.bool('help')) {
      process.stdout.write(commandHelp(entry.usage, entry.summary, entry.options, COMMON_OPTIONS));
      return 0;
    }
    return await entry.run(cli, entry.subcommands ? cli.args.positionals[0] : undefined);
  } catch (err) {
    // A usage mistake found inside the command points at the command's own help.
    if (err instanceof UsageError && !err.command) return reportError(new UsageError(err.message, command));
    return reportError(err);
  }
}
