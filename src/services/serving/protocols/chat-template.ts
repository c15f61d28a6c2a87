/**
 * Chat messages into one prompt. A model whose tokenizer_config.json has a `chat_template` is
 * rendered with it, by a small Jinja subset that covers the usual templates (ChatML, Llama-2 and
 * Zephyr style):
 *   {{ expr }} · {% for x in list %}…{% endfor %} (with loop.first, loop.last, loop.index0, loop.index)
 *   {% if expr %}…{% elif expr %}…{% else %}…{% endif %} · {%- … -%} / {{- … -}} whitespace control,
 *   and transformers' trim_blocks / lstrip_blocks
 *   expressions: names (messages, add_generation_prompt, bos_token, eos_token), x.y and x['y'],
 *   string and number literals, + (concatenation), ==, !=, and, or, not, parentheses,
 *   `is defined` / `is not defined`, filters `| trim` and `| length`.
 * Anything else in a template is refused with a 422 naming the construct, never guessed at.
 * Without a template (GPT-2 and the models trained here), messages become `role: content` lines
 * and a final `assistant:`.
 */
import { InvalidInputError } from '../../../infra/errors.js';
import type { LanguageModel } from '../language-model.js';

export interface ChatMessage {
  role: string;
  content: string;
}

export function chatPrompt(messages: ChatMessage[], lm: Pick<LanguageModel, 'chatTemplate' | 'bosText' | 'eosText'>): string {
  if (!lm.chatTemplate) return messages.map((m) => `${m.role}: ${m.content}\n`).join('') + 'assistant:';
  return renderTemplate(lm.chatTemplate, {
    messages, add_generation_prompt: true, bos_token: lm.bosText ?? '', eos_token: lm.eosText ?? '',
  });
}

type Value = unknown;
type Scope = Record<string, Value>;

interface Text { kind: 'text'; text: string }
interface Output { kind: 'output'; expr: string }
interface For { kind: 'for'; name: string; list: string; body: Node[] }
interface If { kind: 'if'; branches: Array<{ cond: string | undefined; body: Node[] }> }
type Node = Text | Output | For | If;

export function renderTemplate(template: string, scope: Scope): string {
  const nodes = parse(tokenize(template));
  return render(nodes, scope);
}

type Token = { kind: 'text'; text: string } | { kind: 'tag' | 'output'; body: string };

/**
 * Template text into tokens, with transformers' environment (trim_blocks, lstrip_blocks: a block
 * tag's line keeps neither its indentation nor its newline) and `-` whitespace control.
 */
function tokenize(src: string): Token[] {
  const out: Token[] = [];
  const re = /\{\{(-?)([\s\S]*?)(-?)\}\}|\{%(-?)([\s\S]*?)(-?)%\}|\{#[\s\S]*?#\}/g;
  let last = 0;
  let trimNext = false;
  let afterBlock = false;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    let text = src.slice(last, m.index);
    const block = m[5] !== undefined || m[0].startsWith('{#');
    if (trimNext) text = text.replace(/^\s+/, '');
    else if (afterBlock) text = text.replace(/^\n/, '');
    if (m[1] === '-' || m[4] === '-') text = text.replace(/\s+$/, '');
    else if (block) text = text.replace(/(^|\n)[ \t]+$/, '$1');
    if (text) out.push({ kind: 'text', text });
    if (m[2] !== undefined) out.push({ kind: 'output', body: m[2].trim() });
    else if (m[5] !== undefined) out.push({ kind: 'tag', body: m[5].trim() });
    trimNext = m[3] === '-' || m[6] === '-';
    afterBlock = block;
    last = re.lastIndex;
  }
  let tail = src.slice(last);
  if (trimNext) tail = tail.replace(/^\s+/, '');
  else if (afterBlock) tail = tail.replace(/^\n/, '');
  if (tail) out.push({ kind: 'text', text: tail });
  return out;
}

function parse(tokens: Token[]): Node[] {
  let i = 0;
  const block = (ends: string[]): { nodes: Node[]; end: string } => {
    const nodes: Node[] = [];
    while (i < tokens.length) {
      const t = tokens[i++]!;
      if (t.kind === 'text') nodes.push({ kind: 'text', text: t.text });
      else if (t.kind === 'output') nodes.push({ kind: 'output', expr: t.body });
      else {
        const word = t.body.split(/\s+/, 1)[0]!;
        if (ends.includes(word)) {
          i--;
          return { nodes, end: word };
        }
        if (word === 'for') {
          const m = /^for\s+(\w+)\s+in\s+(.+)$/.exec(t.body);
          if (!m) throw unsupported(t.body);
          const body = block(['endfor']);
          i++;
          nodes.push({ kind: 'for', name: m[1]!, list: m[2]!, body: body.nodes });
        } else if (word === 'if') {
          const branches: If['branches'] = [];
          let cond: string | undefined = t.body.slice(2).trim();
          for (;;) {
            const b = block(['elif', 'else', 'endif']);
            branches.push({ cond, body: b.nodes });
            const tag = tokens[i++] as { body: string };
            if (b.end === 'endif') break;
            cond = b.end === 'elif' ? tag.body.slice(4).trim() : undefined;
          }
          nodes.push({ kind: 'if', branches });
        } else throw unsupported(t.body);
      }
    }
    if (ends.length > 0) throw unsupported(`a block without {% ${ends[ends.length - 1]} %}`);
    return { nodes, end: '' };
  };
  return block([]).nodes;
}

function render(nodes: Node[], scope: Scope): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'output') out += str(evaluate(n.expr, scope));
    else if (n.kind === 'for') {
      const list = evaluate(n.list, scope);
      if (!Array.isArray(list)) throw unsupported(`for over ${n.list}, which is not a list`);
      list.forEach((item, k) => {
        out += render(n.body, { ...scope, [n.name]: item, loop: { first: k === 0, last: k === list.length - 1, index0: k, index: k + 1, length: list.length } });
      });
    } else {
      const b = n.branches.find((x) => x.cond === undefined || truthy(evaluate(x.cond, scope)));
      if (b) out += render(b.body, scope);
    }
  }
  return out;
}

function str(v: Value): string {
  return v === undefined || v === null ? '' : String(v);
}

function truthy(v: Value): boolean {
  return Array.isArray(v) ? v.length > 0 : Boolean(v);
}

/** A small Pratt-style evaluator over the expression subset named in the file's comment. */
function evaluate(src: string, scope: Scope): Value {
  const toks = src.match(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|==|!=|\d+(?:\.\d+)?|\w+|[()[\].+|~]/g) ?? [];
  let i = 0;
  const peek = () => toks[i];
  const eat = (t?: string) => {
    const x = toks[i++];
    if (t !== undefined && x !== t) throw unsupported(src);
    return x;
  };
  const primary = (): Value => {
    const t = eat();
    if (t === undefined) throw unsupported(src);
    if (t === '(') {
      const v = or();
      eat(')');
      return v;
    }
    if (/^['"]/.test(t)) return t.slice(1, -1).replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
    if (/^\d/.test(t)) return Number(t);
    if (t === 'true' || t === 'True') return true;
    if (t === 'false' || t === 'False') return false;
    if (t === 'none' || t === 'None') return null;
    if (!/^\w+$/.test(t)) throw unsupported(src);
    let v: Value = scope[t];
    for (;;) {
      if (peek() === '.') {
        eat();
        v = (v as Record<string, Value> | undefined)?.[eat()!];
      } else if (peek() === '[') {
        eat();
        const key = or();
        eat(']');
        v = (v as Record<string, Value> | undefined)?.[key as string];
      } else if (peek() === '|') {
        eat();
        const f = eat();
        if (f === 'trim') v = str(v).trim();
        else if (f === 'length') v = Array.isArray(v) || typeof v === 'string' ? v.length : 0;
        else throw unsupported(`the filter ${f}`);
      } else if (peek() === 'is') {
        eat();
        const negate = peek() === 'not' ? (eat(), true) : false;
        if (eat() !== 'defined') throw unsupported(src);
        v = negate ? v === undefined : v !== undefined;
      } else return v;
    }
  };
  const unary = (): Value => (peek() === 'not' ? (eat(), !truthy(unary())) : primary());
  const sum = (): Value => {
    let v = unary();
    while (peek() === '+' || peek() === '~') {
      eat();
      const r = unary();
      v = typeof v === 'number' && typeof r === 'number' ? v + r : str(v) + str(r);
    }
    return v;
  };
  const compare = (): Value => {
    let v = sum();
    while (peek() === '==' || peek() === '!=') {
      const op = eat();
      const r = sum();
      v = op === '==' ? v === r : v !== r;
    }
    return v;
  };
  const and = (): Value => {
    let v = compare();
    while (peek() === 'and') {
      eat();
      const r = compare();
      v = truthy(v) && truthy(r);
    }
    return v;
  };
  const or = (): Value => {
    let v = and();
    while (peek() === 'or') {
      eat();
      const r = and();
      v = truthy(v) || truthy(r);
    }
    return v;
  };
  const v = or();
  if (i < toks.length) throw unsupported(src);
  return v;
}

function unsupported(what: string): InvalidInputError {
  return new InvalidInputError('unsupported_chat_template', `The model's chat_template uses '${what}', which this server's template subset does not support (see docs/API.md "Chat templates"); use /openai/v1/completions with a prompt you format yourself, or import the model with a simpler chat_template.`, { construct: what });
}
