/**
 * The chat playground of a language-model endpoint: messages streamed from
 * POST /openai/v1/chat/completions (the SDK's chat.stream reads the SSE chunks), with the
 * temperature and max tokens of each request, and a Stop button that aborts the request: the
 * server sees the client leave and frees the sequence's slot at once.
 */
import { useRef, useState, type FormEvent } from 'react';
import type { ChatMessage, ChatPiece, Endpoint } from '../../src/sdk/index.js';
import { client, message, useLoad } from './api.js';
import { ErrorBox } from './ui.js';

/** The kind of the model version taking the endpoint's first traffic entry (causal_lm, text_encoder, …), once loaded. */
export function useServedKind(ep: Endpoint | undefined): string | undefined {
  const version = ep?.traffic[0]?.version;
  const model = ep?.model;
  return useLoad(() => (model && version ? client.models.version(model, version).then((v) => v.kind as string) : Promise.resolve(undefined)), [model, version]).data;
}

type Turn = ChatMessage & { note?: string };

export function ChatPlayground({ ep }: { ep: Endpoint }) {
  const [turns, setTurns] = useState<Turn[]>([]);
  const [system, setSystem] = useState('');
  const [text, setText] = useState('');
  const [temperature, setTemperature] = useState(0.7);
  const [maxTokens, setMaxTokens] = useState(64);
  const [error, setError] = useState<string>();
  const abort = useRef<AbortController | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const send = async (e: FormEvent) => {
    e.preventDefault();
    if (!text.trim() || busy) return;
    setError(undefined);
    const history: ChatMessage[] = [...(system.trim() ? [{ role: 'system', content: system.trim() }] : []), ...turns.map(({ role, content }) => ({ role, content })), { role: 'user', content: text }];
    const shown: Turn[] = [...turns, { role: 'user', content: text }];
    let answer = '';
    const show = (note?: string) => setTurns([...shown, { role: 'assistant', content: answer, ...(note ? { note } : {}) }]);
    show();
    setText('');
    const controller = new AbortController();
    abort.current = controller;
    setBusy(true);
    let last: ChatPiece | undefined;
    let usage: ChatPiece['usage'];
    try {
      for await (const piece of client.chat.stream(ep.name, history, { temperature, max_tokens: maxTokens, signal: controller.signal })) {
        answer += piece.text;
        if (piece.finishReason) last = piece;
        if (piece.usage) usage = piece.usage;
        show();
      }
      const why = last?.finishReason === 'length' ? 'stopped at max tokens' : 'finished';
      show(usage ? `${why} · ${usage.completion_tokens} tokens (prompt ${usage.prompt_tokens})` : why);
    } catch (err) {
      if (controller.signal.aborted) show('stopped');
      else {
        show('failed');
        setError(message(err));
      }
    } finally {
      abort.current = undefined;
      setBusy(false);
    }
  };

  return (
    <form className="card form chat" onSubmit={send} aria-label="chat playground">
      <h2>Chat playground</h2>
      <p className="muted small">The OpenAI API: <code>POST /openai/v1/chat/completions</code> with <code>"model": "{ep.name}"</code> (any OpenAI client, base URL <code>{location.origin}/openai/v1</code>).</p>
      <label>System prompt <small className="muted">optional</small>
        <input name="system" value={system} onChange={(e) => setSystem(e.target.value)} placeholder="You are a helpful assistant." />
      </label>
      <ol className="chat-log" aria-live="polite" data-testid="chat-log">
        {turns.length === 0 && <li className="muted">Messages stream in here as the model generates them.</li>}
        {turns.map((t, i) => (
          <li key={i} className={`chat-turn ${t.role}`} data-role={t.role}>
            <strong>{t.role === 'user' ? 'You' : ep.name}</strong> <span className="chat-text">{t.content}</span>
            {t.note && <small className="muted"> — {t.note}</small>}
          </li>
        ))}
      </ol>
      <label>Message
        <textarea name="message" rows={2} value={text} onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); e.currentTarget.form?.requestSubmit(); } }} />
      </label>
      <div className="row">
        <label>Temperature {temperature}
          <input type="range" name="temperature" min={0} max={2} step={0.1} value={temperature} onChange={(e) => setTemperature(Number(e.target.value))} />
        </label>
        <label>Max tokens
          <input type="number" name="maxTokens" min={1} max={4096} value={maxTokens} onChange={(e) => setMaxTokens(Math.max(1, Number(e.target.value) || 1))} />
        </label>
      </div>
      <div className="row">
        <button type="submit" disabled={busy || !text.trim() || ep.status !== 'ready'}>Send</button>
        <button type="button" onClick={() => abort.current?.abort()} disabled={!busy}>Stop</button>
        <button type="button" onClick={() => setTurns([])} disabled={busy || turns.length === 0}>Clear</button>
      </div>
      <ErrorBox error={error} />
    </form>
  );
}
