/** The per-command option parser: declared options only, repeatable ones, help from the declarations. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from './common.js';
import { jobsCommand, trainCommand } from './commands-jobs.js';
import { predictCommand } from './commands-serving.js';
import { COMMON_OPTIONS, commandHelp, parseCommandArgs } from './options.js';

const parse = (command: string, argv: string[], options = trainCommand.options) => parseCommandArgs(command, argv, { ...options, ...COMMON_OPTIONS });

test('values, --name=value, repeatable --set in order, booleans, positionals and --', () => {
  const a = parse('train', ['iris', '--name', 'm', '--target=species', '--set', 'cv=3', '--set', 'split.seed=1', '--json', '--', '--not-a-flag']);
  assert.deepEqual(a.positionals, ['iris', '--not-a-flag']);
  assert.deepEqual(a.flags.get('name'), ['m']);
  assert.deepEqual(a.flags.get('target'), ['species']);
  assert.deepEqual(a.flags.get('set'), ['cv=3', 'split.seed=1']);
  assert.deepEqual(a.flags.get('json'), ['true']);
});

test('an unknown option is refused with the closest declared one', () => {
  assert.throws(() => parse('train', ['--epoch', '3']), (err: unknown) => {
    assert.ok(err instanceof UsageError);
    assert.equal(err.command, 'train');
    assert.equal(err.message, "'train' has no option '--epoch'. Did you mean '--epochs'?");
    return true;
  });
  assert.throws(() => parse('train', ['--colour', 'x']), { message: "'train' has no option '--colour'." });
  // --space belongs to tune, not train.
  assert.throws(() => parse('train', ['--space', 'a=1,2']), /'train' has no option '--space'/);
});

test('a short option means what its command declares', () => {
  assert.deepEqual(parse('jobs', ['logs', '-f', 'job_1'], jobsCommand.options).flags.get('follow'), ['true']);
  assert.deepEqual(parse('jobs', ['logs', '-f', 'job_1'], jobsCommand.options).positionals, ['logs', 'job_1']);
  assert.deepEqual(parse('predict', ['iris', '-f', 'rows.csv'], predictCommand.options).flags.get('file'), ['rows.csv']);
});

test('a missing value and a value for a boolean are usage errors; a negative number is a value', () => {
  assert.throws(() => parse('train', ['--name']), (err: unknown) => err instanceof UsageError && /--name/.test(err.message));
  assert.throws(() => parse('train', ['--json=yes']), (err: unknown) => err instanceof UsageError && /--json/.test(err.message));
  assert.deepEqual(parse('train', ['--priority', '-5']).flags.get('priority'), ['-5']);
});

test('the help names every declared option, with its placeholder', () => {
  const help = commandHelp(trainCommand.usage, trainCommand.summary, trainCommand.options, COMMON_OPTIONS);
  assert.match(help, /^Usage:\n {2}aiaas train --name MODEL/);
  for (const [name, o] of Object.entries({ ...trainCommand.options, ...COMMON_OPTIONS })) {
    assert.match(help, new RegExp(`--${name}${o.type === 'string' ? ` ${o.value!.replace(/[|[\]()*+?.]/g, '\\$&')}` : ''} `), name);
  }
  assert.match(help, /--set path=value .*\(repeatable\)/);
  assert.match(help, /-h, --help/);
});
