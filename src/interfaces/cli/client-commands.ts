/** The client commands of `aiaas` (everything but server and worker), all through the SDK. */
import { api, cluster, keys, login, logout, quota, tenants, usage, whoami } from './commands-account.js';
import { datasets } from './commands-datasets.js';
import { jobs, train, tune } from './commands-jobs.js';
import { deploy, endpoints, models, predict } from './commands-serving.js';
import { Cli, parseArgs, reportError } from './common.js';

export const CLIENT_HELP = `Client commands (talk to a running server):
  login [--url URL] --key KEY   Store the server URL and API key in ~/.config/aiaas/config.json
                                (mode 0600; AIAAS_CONFIG moves it). --key - reads it from stdin.
  logout | whoami
  tenants list | create NAME                     (admins)
  keys list | create --name N --role ROLE [--tenant T] [--endpoint E] | revoke ID
  datasets list | upload FILE [--name N] | show NAME | rows NAME [--offset O --limit L] | delete NAME
  train --name MODEL --dataset D --target COL [--kind mlp|cnn|logistic_regression|linear_regression|
        random_forest|gradient_boosting] [--hidden 64,32 --activation relu --dropout 0.2]
        [--n-estimators N --max-depth N] [--epochs N --batch-size N --optimizer adam --learning-rate X
        --patience N] [--test 0.2 --validation 0.1 --seed 0] [--preprocessing auto|JSON]
        [--spec train.json|train.yaml] [--set path=value …] [--detach]
                                Starts a training job and follows it: progress bar, one line per epoch.
  tune --name MODEL --dataset D --target COL [--kind K --n-estimators N --max-depth N --epochs N]
       --space path=a,b,c | --space path=min:max[:log][:int] … [--strategy grid|random|halving]
       [--trials N --cv FOLDS --metric M --seed N --eta N] [--spec tune.json|tune.yaml] [--set path=value …]
       [--detach]               Searches hyper-parameters (trials are child train jobs), registers the
                                best; a progress line while it runs, the trial table at the end.
  jobs list [--status S --type T] | show ID | logs [-f] ID | cancel ID | wait ID
       | submit (JSON | --spec FILE | --type T) [--set k=v …] [--wait]
  models list | show NAME [VERSION] | stage NAME VERSION none|staging|production|archived
         | download NAME [VERSION] [--format onnx|hf] [-o FILE] | import NAME FILE.onnx [--task T --labels a,b,c]
  deploy ENDPOINT --model MODEL [--version V | --stage S] [--min N --max N] [--no-wait]
  endpoints list | show NAME | traffic NAME VERSION=WEIGHT … | delete NAME
  predict ENDPOINT --file rows.csv|rows.json|rows.jsonl|- [--batch 100] | --data JSON
                                Streams rows in batches; one prediction per line as they return.
  cluster | usage [--from DATE --to DATE --tenant T]
  quota show TENANT | set TENANT [--max-cpu N --max-gpu N --max-concurrent-jobs N
        --monthly-cpu-seconds N --max-endpoints N --max-replicas-per-endpoint N --max-replicas N]
        (a number, or none: no limit for jobs, the default for serving)
  api METHOD PATH [--data JSON] Any route, answered as JSON.

Common options: --json (machine-readable output) · --url URL · --key KEY · --tenant-context T
(admins: act in tenant T). AIAAS_URL, AIAAS_API_KEY and AIAAS_TENANT override the stored login.
Exit codes: 0 ok · 1 the API answered an error (its message on stderr) · 2 usage error ·
3 the server cannot be reached · 4 a job that was followed failed or was cancelled.
`;

type Handler = (cli: Cli, sub: string | undefined) => Promise<number>;

const COMMANDS: Record<string, { handler: Handler; sub: boolean }> = {
  login: { handler: login, sub: false },
  logout: { handler: logout, sub: false },
  whoami: { handler: whoami, sub: false },
  tenants: { handler: tenants, sub: true },
  keys: { handler: keys, sub: true },
  datasets: { handler: datasets, sub: true },
  train: { handler: train, sub: false },
  tune: { handler: tune, sub: false },
  jobs: { handler: jobs, sub: true },
  models: { handler: models, sub: true },
  deploy: { handler: deploy, sub: false },
  endpoints: { handler: endpoints, sub: true },
  predict: { handler: predict, sub: false },
  cluster: { handler: cluster, sub: false },
  usage: { handler: usage, sub: false },
  quota: { handler: quota, sub: true },
  api: { handler: api, sub: false },
};

/** Runs a client command; undefined when `command` is not one. */
export async function runClientCommand(command: string, argv: string[]): Promise<number | undefined> {
  const entry = COMMANDS[command];
  if (!entry) return undefined;
  try {
    const cli = new Cli(parseArgs(argv));
    if (cli.bool('help', 'h')) {
      process.stdout.write(CLIENT_HELP);
      return 0;
    }
    return await entry.handler(cli, entry.sub ? cli.args.positionals[0] : undefined);
  } catch (err) {
    return reportError(err);
  }
}
