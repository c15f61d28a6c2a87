/**
 * When to add or remove a replica, from the load measured since the previous decision. Pure:
 * no threads, no timers, no clock of its own (`now` is given), so that tests drive it directly.
 *
 * A replica is added at once when the time-averaged queue depth per replica, the mean latency
 * (with requests waiting), the busy fraction (with requests waiting) or, for language models,
 * the generated tokens/s per replica exceed their targets; one
 * is removed only after `cooldownMs` of low load since the last scale event. Nothing is decided
 * while a replica is still starting: its capacity is not in the measurements yet.
 */

export interface AutoscalingSettings {
  /** How often load is measured and replicas adjusted. */
  intervalMs: number;
  /** Low load must last this long since the last scale event before a replica is removed. */
  cooldownMs: number;
  /** Scale up when the average queue (rows waiting) per replica exceeds this. */
  targetQueueDepth: number;
  /** Scale up when the mean latency exceeds this while requests wait (0: off). */
  targetLatencyMs: number;
  /**
   * Language models: scale up when the tokens generated per second per ready replica exceed this
   * (0: off); a replica is removed only if the others would stay under half of it.
   */
  targetTokensPerSecond: number;
}

export interface ScalingSettings {
  replicas: { min: number; max: number };
  autoscaling: AutoscalingSettings;
}

/** The load since the previous decision. */
export interface LoadSample {
  /** Rows waiting, integrated over time (rows·ms). */
  queueRowMs: number;
  /** Time the ready replicas had batches in flight, summed over them (ms). */
  busyMs: number;
  /** Latencies of the requests answered (sum, ms, and count). */
  latencySumMs: number;
  latencyCount: number;
  /** Language models: tokens generated (all sequences). */
  tokens: number;
  /** Replicas starting or ready, and of those ready. */
  replicas: number;
  ready: number;
}

export type ScaleDecision = { change: 0 } | { change: 1 | -1; reason: string };

const KEEP: ScaleDecision = { change: 0 };

export class Autoscaler {
  private lastDecisionAt: number;
  private lastScaleAt: number;
  /** The last time the load was not low (the cool-down counts from it). */
  private lastBusyAt: number;

  constructor(now: number) {
    this.lastDecisionAt = now;
    this.lastScaleAt = now;
    this.lastBusyAt = now;
  }

  /** A scale event decided elsewhere (the replica bounds changed): the cool-down starts again. */
  noteScaled(now: number): void {
    this.lastScaleAt = now;
    this.lastBusyAt = now;
  }

  /** The decision for the load measured since the previous call; a change it returns is taken as made. */
  decide(load: LoadSample, settings: ScalingSettings, now: number): ScaleDecision {
    const span = Math.max(1, now - this.lastDecisionAt);
    this.lastDecisionAt = now;
    if (load.replicas > load.ready) return KEEP; // judge once the new replica serves
    const { cooldownMs, targetQueueDepth, targetLatencyMs, targetTokensPerSecond } = settings.autoscaling;
    const n = Math.max(1, load.ready);
    const utilization = load.busyMs / (span * n);
    const avgQueue = load.queueRowMs / span;
    const latency = load.latencyCount > 0 ? load.latencySumMs / load.latencyCount : 0;
    const tokensPerSecond = (load.tokens * 1000) / span;
    let up: string | undefined;
    if (avgQueue / n > targetQueueDepth) up = `queue depth ${fmt(avgQueue)} rows over ${n} replica(s) > target ${targetQueueDepth}`;
    else if (targetTokensPerSecond > 0 && tokensPerSecond / n > targetTokensPerSecond) up = `${fmt(tokensPerSecond)} tokens/s over ${n} replica(s) > target ${targetTokensPerSecond} per replica`;
    else if (targetLatencyMs > 0 && latency > targetLatencyMs && avgQueue >= 1) up = `mean latency ${fmt(latency)} ms > target ${targetLatencyMs} ms`;
    else if (utilization > 0.9 && avgQueue >= 1) up = `replicas ${Math.round(utilization * 100)}% busy with requests waiting`;
    if (up) {
      this.lastBusyAt = now;
      if (load.replicas >= settings.replicas.max) return KEEP;
      this.noteScaled(now);
      return { change: 1, reason: up };
    }
    // Low load: the others could absorb the work of one replica at under half their capacity.
    const quiet = avgQueue < 0.5 && (n <= 1 || ((utilization * n) / (n - 1) < 0.5 && (targetTokensPerSecond === 0 || tokensPerSecond / (n - 1) < targetTokensPerSecond / 2)));
    if (!quiet) {
      this.lastBusyAt = now;
      return KEEP;
    }
    const floor = Math.max(1, settings.replicas.min);
    if (load.replicas <= floor || now - this.lastBusyAt < cooldownMs || now - this.lastScaleAt < cooldownMs) return KEEP;
    this.noteScaled(now);
    const tokens = load.tokens > 0 ? `, ${fmt(tokensPerSecond)} tokens/s` : '';
    return { change: -1, reason: `low load for ${Math.round(cooldownMs / 1000)} s (${Math.round(utilization * 100)}% busy, queue ${fmt(avgQueue)}${tokens})` };
  }
}

function fmt(x: number): string {
  return (Math.round(x * 100) / 100).toString();
}
