/**
 * An endpoint's settings (replicas, dynamic batching, autoscaling, prediction logging): the defaults, how a create or
 * an update's partial settings are merged and checked, and what they reserve against the quotas.
 */
import { InvalidInputError } from '../../infra/errors.js';
import type { AutoscalingSettings, BatchingSettings, PoolSettings } from './pool.js';
import type { ShadowSetting } from './shadow.js';
import type { TrafficEntry } from './traffic.js';

/** Which requests an endpoint logs (./prediction-log.ts), and for how long their rows are kept. */
export interface LoggingSettings {
  /** Share of requests logged, 0 (off) to 1 (all); every row of a logged request is kept. */
  sampleRate: number;
  /** Logged rows older than this are deleted. */
  retentionDays: number;
}

/** What the pools run with, and what the data plane does around them. */
export interface EndpointSettings extends PoolSettings {
  logging: LoggingSettings;
}

export interface EndpointSettingsInput {
  replicas?: { min?: number; max?: number };
  batching?: Partial<BatchingSettings>;
  autoscaling?: Partial<AutoscalingSettings>;
  logging?: Partial<LoggingSettings>;
}

export const DEFAULT_SETTINGS: EndpointSettings = {
  replicas: { min: 1, max: 2 },
  batching: { maxBatchSize: 32, maxDelayMs: 0 },
  autoscaling: { intervalMs: 1000, cooldownMs: 30_000, targetQueueDepth: 8, targetLatencyMs: 0, targetTokensPerSecond: 0 },
  logging: { sampleRate: 0, retentionDays: 30 },
};

/** Replicas an endpoint may come to run: each version in its traffic, and its shadow, has a pool of up to replicas.max. */
export function reservation(settings: PoolSettings, traffic: TrafficEntry[], shadow?: ShadowSetting | null): number {
  return settings.replicas.max * (traffic.length + (shadow ? 1 : 0));
}

/** Settings with defaults, checked. */
export function settingsFrom(input: EndpointSettingsInput, base: EndpointSettings = DEFAULT_SETTINGS): EndpointSettings {
  const min = input.replicas?.min ?? (input.replicas?.max !== undefined ? Math.min(base.replicas.min, input.replicas.max) : base.replicas.min);
  const max = input.replicas?.max ?? Math.max(min, base.replicas.max);
  const s: EndpointSettings = {
    replicas: { min, max },
    batching: { ...base.batching, ...input.batching },
    // Endpoints stored before targetTokensPerSecond existed have none: the default (off).
    autoscaling: { ...DEFAULT_SETTINGS.autoscaling, ...base.autoscaling, ...input.autoscaling },
    // Endpoints stored before logging existed have none: the defaults (off).
    logging: { ...DEFAULT_SETTINGS.logging, ...base.logging, ...input.logging },
  };
  const check = (ok: boolean, field: string, message: string) => {
    if (!ok) throw new InvalidInputError('invalid_settings', `${field}: ${message}`, { field });
  };
  check(Number.isInteger(min) && min >= 1 && min <= 64, 'replicas.min', 'must be a whole number from 1 to 64');
  check(Number.isInteger(max) && max >= min && max <= 64, 'replicas.max', `must be a whole number from replicas.min (${min}) to 64`);
  check(Number.isInteger(s.batching.maxBatchSize) && s.batching.maxBatchSize >= 1 && s.batching.maxBatchSize <= 4096, 'batching.maxBatchSize', 'must be a whole number from 1 (no batching) to 4096');
  check(s.batching.maxDelayMs >= 0 && s.batching.maxDelayMs <= 1000, 'batching.maxDelayMs', 'must be from 0 to 1000');
  check(s.autoscaling.intervalMs >= 50 && s.autoscaling.intervalMs <= 600_000, 'autoscaling.intervalMs', 'must be from 50 to 600000');
  check(s.autoscaling.cooldownMs >= 0 && s.autoscaling.cooldownMs <= 86_400_000, 'autoscaling.cooldownMs', 'must be from 0 to 86400000');
  check(s.autoscaling.targetQueueDepth >= 0, 'autoscaling.targetQueueDepth', 'must not be negative');
  check(s.logging.sampleRate >= 0 && s.logging.sampleRate <= 1, 'logging.sampleRate', 'must be from 0 (off) to 1 (every request)');
  check(s.logging.retentionDays > 0 && s.logging.retentionDays <= 3650, 'logging.retentionDays', 'must be more than 0 and at most 3650');
  check(s.autoscaling.targetLatencyMs >= 0, 'autoscaling.targetLatencyMs', 'must not be negative (0 turns the latency target off)');
  check(s.autoscaling.targetTokensPerSecond >= 0, 'autoscaling.targetTokensPerSecond', 'must not be negative (0 turns the tokens/s target off)');
  return s;
}
