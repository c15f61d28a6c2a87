/**
 * A language-model endpoint's generation figures, polled from its Prometheus metrics
 * (GET /v1/endpoints/{name}/metrics): mean time to first token and between tokens, tokens
 * generated and tokens/s (over the last poll interval: Prometheus' rate()), batch occupancy and
 * key/value cache use (shares of what the ready replicas hold), and requests waiting.
 */
import { useEffect, useState } from 'react';
import { client } from './api.js';
import { LineChart, fmt } from './charts.js';
import { Tiles } from './metric-tiles.js';
import { hasSeries, sumOf } from './prom-text.js';

const EVERY_MS = 2000;

interface Figures {
  firstTokenMs?: number;
  interTokenMs?: number;
  tokens: number;
  tokensPerSecond?: number;
  occupancy?: number;
  cacheUse?: number;
  queueDepth: number;
}

interface TokenHistory { first: number; last?: { t: number; tokens: number }; points: Array<[number, number]>; occupancy: Array<[number, number]> }

/** Tokens/s and occupancy points per endpoint, kept for the tab's life (as the requests chart's). */
const HISTORY = new Map<string, TokenHistory>();

const mean = (text: string, metric: string) => {
  const n = sumOf(text, `${metric}_count`);
  return n > 0 ? (sumOf(text, `${metric}_sum`) / n) * 1000 : undefined;
};
const share = (text: string, metric: string) => (hasSeries(text, metric) ? sumOf(text, metric) : undefined);
const pct = (x: number | undefined) => (x === undefined ? '–' : `${fmt(x * 100, 1)}%`);

export function LmMetrics({ name }: { name: string }) {
  const [figures, setFigures] = useState<Figures>();
  useEffect(() => {
    let stopped = false;
    const h = HISTORY.get(name) ?? { first: Date.now(), points: [], occupancy: [] };
    HISTORY.set(name, h);
    const tick = async () => {
      try {
        const text = await client.endpoints.metrics(name);
        const t = Date.now();
        const tokens = sumOf(text, 'aiaas_endpoint_generated_tokens_total');
        const prev = h.last;
        h.last = { t, tokens };
        let tokensPerSecond: number | undefined;
        if (prev && tokens >= prev.tokens && t > prev.t) {
          tokensPerSecond = (tokens - prev.tokens) / ((t - prev.t) / 1000);
          h.points = [...h.points, [(t - h.first) / 1000, tokensPerSecond] as [number, number]].slice(-180);
        }
        const occupancy = share(text, 'aiaas_endpoint_batch_occupancy');
        if (prev && occupancy !== undefined) h.occupancy = [...h.occupancy, [(t - h.first) / 1000, occupancy * 100] as [number, number]].slice(-180);
        if (stopped) return;
        setFigures({
          firstTokenMs: mean(text, 'aiaas_endpoint_time_to_first_token_seconds'),
          interTokenMs: mean(text, 'aiaas_endpoint_inter_token_seconds'),
          tokens, tokensPerSecond, occupancy,
          cacheUse: share(text, 'aiaas_endpoint_kv_cache_use'),
          queueDepth: sumOf(text, 'aiaas_endpoint_queue_depth'),
        });
      } catch { /* the endpoint may be going away */ }
    };
    void tick();
    const timer = setInterval(tick, EVERY_MS);
    return () => { stopped = true; clearInterval(timer); };
  }, [name]);
  const f = figures;
  const ms = (x: number | undefined) => (x === undefined ? '–' : `${fmt(x, 3)} ms`);
  const points = HISTORY.get(name)?.points ?? [];
  const occupancy = HISTORY.get(name)?.occupancy ?? [];
  return (
    <section className="metrics-group" aria-label="generation metrics" data-testid="lm-metrics">
      <h2>Generation <small className="muted">(means since the endpoint started; tokens/s over the last {EVERY_MS / 1000} s)</small></h2>
      <Tiles items={[
        ['time to first token', ms(f?.firstTokenMs)],
        ['inter-token latency', ms(f?.interTokenMs)],
        ['tokens/s', f?.tokensPerSecond === undefined ? '–' : fmt(f.tokensPerSecond, 1)],
        ['tokens generated', f ? String(f.tokens) : '–'],
        ['batch occupancy', pct(f?.occupancy)],
        ['cache use', pct(f?.cacheUse)],
        ['queue depth', f ? String(f.queueDepth) : '–'],
      ]} />
      <div className="charts">
        <LineChart title="Tokens per second" xLabel="s" height={150} empty={f?.tokens ? 'Measuring: the first interval is drawn within 2 s.' : 'No tokens generated yet.'}
          series={points.length ? [{ name: 'tokens/s', points }] : []} />
        <LineChart title="Batch occupancy (%)" xLabel="s" height={150} empty="Measuring: the first interval is drawn within 2 s."
          series={occupancy.length ? [{ name: 'sequences running / slots', points: occupancy }] : []} />
      </div>
    </section>
  );
}
