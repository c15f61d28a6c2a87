/**
 * Traffic routing: which version of an endpoint answers a request. An endpoint's traffic is a
 * list of versions with weights (a canary is `[{v1, 90}, {v2, 10}]`); requests are spread by
 * smooth weighted round-robin (as nginx does), which keeps the proportions exact and interleaves
 * the versions evenly instead of sending runs of requests to one.
 *
 * Also here: reading the traffic a create or an update asks for (`traffic`, or `version` /
 * `stage` for all of it to one version) into checked entries.
 */
import { InvalidInputError, NotFoundError } from '../../infra/errors.js';
import type { ModelVersion } from '../registry.js';

export interface TrafficEntry {
  version: number;
  weight: number;
}

/** Smooth weighted round-robin over targets with positive weights. */
export class WeightedRoundRobin<T> {
  private targets: T[] = [];
  private weights: number[] = [];
  private current: number[] = [];
  private total = 0;

  /** Replaces the table in one synchronous step: a request is routed by the old one or by the new one. */
  set(entries: Array<{ target: T; weight: number }>): void {
    const live = entries.filter((e) => e.weight > 0);
    this.targets = live.map((e) => e.target);
    this.weights = live.map((e) => e.weight);
    this.current = live.map(() => 0);
    this.total = this.weights.reduce((a, b) => a + b, 0);
  }

  /** The next target, or undefined when no target has traffic. */
  pick(): T | undefined {
    const n = this.targets.length;
    if (n <= 1) return this.targets[0];
    const current = this.current;
    let best = 0;
    for (let i = 0; i < n; i++) {
      current[i]! += this.weights[i]!;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= this.total;
    return this.targets[best];
  }
}

/** `v1 90, v2 10`: traffic as events and logs show it. */
export function describeTraffic(traffic: TrafficEntry[]): string {
  return traffic.map((t) => `v${t.version} ${t.weight}`).join(', ');
}

/** The version with the most traffic (the first such in the list). */
export function mainVersion(traffic: TrafficEntry[]): number | undefined {
  return [...traffic].sort((a, b) => b.weight - a.weight)[0]?.version;
}

export interface TrafficRequest {
  traffic?: TrafficEntry[];
  version?: number;
  stage?: string;
}

/**
 * The traffic a create or update asks for, checked: each version once and servable, some
 * weight above 0. With neither traffic, version nor stage: the production version if there is
 * one, else the newest. `servable` resolves a version reference (number, stage, 'latest').
 */
export async function resolveTraffic(input: TrafficRequest, servable: (ref: string | number) => Promise<ModelVersion>): Promise<{ traffic: TrafficEntry[]; stage?: string }> {
  if (input.traffic) {
    if (input.version !== undefined || input.stage !== undefined) {
      throw new InvalidInputError('invalid_traffic', 'Give either traffic, or version/stage (which sends all traffic to one version), not both.', { field: 'traffic' });
    }
    const seen = new Set<number>();
    for (const t of input.traffic) {
      if (seen.has(t.version)) throw new InvalidInputError('invalid_traffic', `Version ${t.version} appears twice in traffic; list each version once.`, { field: 'traffic', version: t.version });
      seen.add(t.version);
      await servable(t.version);
    }
    if (input.traffic.length === 0 || input.traffic.every((t) => t.weight <= 0)) {
      throw new InvalidInputError('invalid_traffic', 'Traffic needs at least one version with a weight above 0.', { field: 'traffic' });
    }
    return { traffic: input.traffic.map((t) => ({ version: t.version, weight: t.weight })) };
  }
  if (input.version !== undefined) return { traffic: allTo(await servable(input.version)) };
  if (input.stage !== undefined) return { traffic: allTo(await servable(input.stage)), stage: input.stage };
  let v: ModelVersion;
  try {
    v = await servable('production');
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    v = await servable('latest');
  }
  return { traffic: allTo(v) };
}

function allTo(v: ModelVersion): TrafficEntry[] {
  return [{ version: v.version, weight: 100 }];
}
