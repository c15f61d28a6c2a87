/**
 * aiaas chat ENDPOINT [--message TEXT] [--system TEXT] [--temperature T] [--max-tokens N] [--seed S]
 * Chats with a language-model endpoint through its OpenAI-compatible route, the answer streamed
 * to the terminal as it is generated. With --message: one answer, then exit (for scripts; --json
 * prints the text and usage as one JSON object). Without: a conversation, one line per turn, the
 * history sent each time, until an empty line or end of input.
 */
import readline from 'node:readline';
import type { ChatMessage, ChatOptions } from '../../sdk/index.js';
import { Cli } from './common.js';
import type { Command } from './options.js';

async function chat(cli: Cli): Promise<number> {
  const client = cli.client();
  const endpoint = cli.arg(0, 'the endpoint (aiaas chat ENDPOINT)');
  const opts: ChatOptions = {};
  const temperature = cli.number('temperature', { min: 0, max: 2 });
  const maxTokens = cli.number('max-tokens', { integer: true, min: 1 });
  const seed = cli.number('seed', { integer: true });
  if (temperature !== undefined) opts.temperature = temperature;
  if (maxTokens !== undefined) opts.max_tokens = maxTokens;
  if (seed !== undefined) opts.seed = seed;
  const history: ChatMessage[] = [];
  const system = cli.flag('system');
  if (system) history.push({ role: 'system', content: system });

  const answer = async (text: string, echo: boolean): Promise<string> => {
    history.push({ role: 'user', content: text });
    let reply = '';
    let usage: unknown;
    for await (const piece of client.chat.stream(endpoint, history, opts)) {
      reply += piece.text;
      if (piece.usage) usage = piece.usage;
      if (echo) process.stdout.write(piece.text);
    }
    history.push({ role: 'assistant', content: reply });
    if (!echo) cli.out(JSON.stringify({ text: reply, usage }));
    else process.stdout.write('\n');
    return reply;
  };

  const message = cli.flag('message');
  if (message !== undefined) {
    await answer(message, !cli.json);
    return 0;
  }
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
  const ask = () => new Promise<string | undefined>((resolve) => {
    rl.question('> ', resolve);
    rl.once('close', () => resolve(undefined));
  });
  try {
    for (let line = await ask(); line !== undefined && line.trim() !== ''; line = await ask()) await answer(line, !cli.json);
  } finally {
    rl.close();
  }
  return 0;
}

export const chatCommand: Command = {
  usage: ['chat ENDPOINT [--message TEXT] [--system TEXT] [--temperature T] [--max-tokens N] [--seed S]'],
  summary: 'Chats with a language-model endpoint, the answer streamed as it is generated (one turn with --message).',
  options: {
    message: { type: 'string', short: 'm', value: 'TEXT', help: 'one message: print the answer and exit' },
    system: { type: 'string', value: 'TEXT', help: 'a system message first' },
    temperature: { type: 'string', value: 'T', help: '0 (greedy) to 2; the server default is 1' },
    'max-tokens': { type: 'string', value: 'N', help: 'tokens per answer (default: the rest of the context)' },
    seed: { type: 'string', value: 'S', help: 'the same seed gives the same answer' },
  },
  run: chat,
};
