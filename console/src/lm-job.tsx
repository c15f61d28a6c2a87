/**
 * The language-model part of a job page: loss curves over steps (training loss and valLoss, one
 * point per evaluation) and the latest sample generation. Points come from the job's history
 * (kept in its metrics) and, while it runs, from the `metrics` events of its SSE stream, merged by
 * step, so a page opened mid-run or after the end shows the whole curve.
 */
import { useEffect, useState } from 'react';
import type { Job } from '../../src/sdk/index.js';
import { client } from './api.js';
import { LineChart, fmt, type Series } from './charts.js';

interface Point {
  step: number;
  loss?: number;
  valLoss?: number;
  tokensPerSecond?: number;
  sample?: string;
}

/** Whether a job trains a language model (its page then shows LmJobView). */
export function isLmJob(job: Job): boolean {
  const spec = job.spec as { task?: unknown; model?: { kind?: unknown } };
  return job.type === 'train' && (spec.task === 'language_modeling' || spec.model?.kind === 'causal_lm');
}

const asPoint = (r: Record<string, unknown>): Point | undefined => (typeof r.step === 'number' ? (r as unknown as Point) : undefined);

function merge(points: Point[], more: Point[]): Point[] {
  const byStep = new Map(points.map((p) => [p.step, p]));
  for (const p of more) byStep.set(p.step, p);
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

export function LmJobView({ job }: { job: Job }) {
  const history = ((job.metrics as { history?: Record<string, unknown>[] }).history ?? []).map(asPoint).filter((p): p is Point => !!p);
  const [streamed, setStreamed] = useState<Point[]>([]);
  useEffect(() => {
    const abort = new AbortController();
    setStreamed([]);
    void (async () => {
      try {
        for await (const e of client.jobs.events(job.id, { signal: abort.signal })) {
          const p = e.event === 'metrics' ? asPoint(e.data) : undefined;
          if (p) setStreamed((s) => merge(s, [p]));
        }
      } catch {
        // The job page shows stream errors; the curve keeps what it has.
      }
    })();
    return () => abort.abort();
  }, [job.id]);
  const points = merge(history, streamed);
  const series = (k: 'loss' | 'valLoss'): Series => ({ name: k, points: points.filter((p) => typeof p[k] === 'number').map((p) => [p.step, p[k]!]) });
  const latest = [...points].reverse().find((p) => typeof p.sample === 'string');
  const speed = points.at(-1)?.tokensPerSecond;
  return (
    <div className="charts" data-testid="lm-job">
      <LineChart title="Loss per step" xLabel="step" series={[series('loss'), series('valLoss')].filter((s) => s.points.length)} />
      <figure className="chart">
        <figcaption>Latest sample{latest ? ` (step ${latest.step}${speed ? `, ${fmt(Math.round(speed))} tokens/s` : ''})` : ''}</figcaption>
        <pre className="logs" data-testid="lm-sample">{latest?.sample ?? 'No sample yet: one is generated at every evaluation.'}</pre>
      </figure>
    </div>
  );
}
