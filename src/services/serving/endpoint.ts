/**
 * One endpoint as it runs: its stored row (the desired state), the versions it serves (a pool of
 * replicas each), the routing table over them, its status and its recent events. The lifecycle
 * (./serving.ts) changes it; the data plane (./data-plane.ts) reads it to answer requests.
 */
import { nowIso } from '../../infra/ids.js';
import type { EndpointsTable } from '../../infra/store/tables-registry.js';
import type { PredictSpec } from './codec/predict-body.js';
import type { ModelVersion } from '../registry.js';
import type { LanguageModel } from './language-model.js';
import type { AutoscalingSettings, BatchingSettings, VersionPool } from './pool.js';
import { reservation, type EndpointSettings, type LoggingSettings } from './settings.js';
import type { Shadow, ShadowInfo, ShadowSetting } from './shadow.js';
import { WeightedRoundRobin, type TrafficEntry } from './traffic.js';

export type EndpointStatus = 'loading' | 'ready' | 'updating' | 'failed';

export interface EndpointEvent {
  at: string;
  type: 'scale_up' | 'scale_down' | 'traffic' | 'ready' | 'failed' | 'replica_failed' | 'settings' | 'shadow';
  version?: number;
  from?: number;
  to?: number;
  message: string;
}

export interface EndpointInfo {
  id: string;
  name: string;
  model: string;
  stage: string | null;
  status: EndpointStatus;
  error: string | null;
  traffic: TrafficEntry[];
  replicas: { min: number; max: number; current: number; ready: number };
  batching: BatchingSettings;
  autoscaling: AutoscalingSettings;
  logging: LoggingSettings;
  /** The candidate version that gets copies of requests, and how its answers compare (./shadow.ts); null: none. */
  shadow: ShadowInfo | null;
  versions: Array<{ version: number; weight: number; replicas: number; ready: number; queueDepth: number; inflight: number }>;
  events: EndpointEvent[];
  urls: { predict: string; infer: string };
  createdAt: string;
  updatedAt: string;
}

/** One version as served: its pool and how to read and answer its requests. */
export interface ServedVersion {
  version: ModelVersion;
  pool: VersionPool;
  spec: PredictSpec;
  /** A causal_lm version: how to decode it (its pool generates, ./protocols/openai.ts). */
  lm?: LanguageModel;
}

const MAX_EVENTS = 50;

/** The key of an endpoint among all tenants' (names are unique per tenant). */
export function endpointKey(tenantId: string, name: string): string {
  return `${tenantId}\0${name}`;
}

export class Endpoint {
  status: EndpointStatus = 'loading';
  error: string | null = null;
  readonly served = new Map<number, ServedVersion>();
  readonly events: EndpointEvent[] = [];
  private readonly router = new WeightedRoundRobin<ServedVersion>();
  /** Serialises changes (create, update, delete) of this endpoint. */
  private chain: Promise<unknown> = Promise.resolve();
  deleted = false;
  /** Replicas held against the quotas: replicas.max per version in the traffic and for the shadow (more while an update loads). */
  reserved: number;
  /** The shadow running: the candidate's replicas and figures (absent while it loads, or when it could not be loaded). */
  shadow: Shadow | undefined;
  /** Why the shadow the row asks for is not running (its candidate could not be loaded on this node). */
  shadowError: string | null = null;

  constructor(public row: EndpointsTable, public traffic: TrafficEntry[], public settings: EndpointSettings,
    /** The shadow the row asks for. */
    public shadowSetting: ShadowSetting | null = null) {
    this.reserved = reservation(settings, traffic, shadowSetting);
  }

  get key(): string {
    return endpointKey(this.row.tenant_id, this.row.name);
  }

  /** Routes requests by `traffic` over the versions served (those not served get none). */
  setRouting(traffic: TrafficEntry[]): void {
    const entries: Array<{ target: ServedVersion; weight: number }> = [];
    for (const t of traffic) {
      const s = this.served.get(t.version);
      if (s) entries.push({ target: s, weight: t.weight });
    }
    this.router.set(entries);
  }

  /** The version the next request goes to, by the traffic's weights. */
  pick(): ServedVersion | undefined {
    return this.router.pick();
  }

  event(e: Omit<EndpointEvent, 'at'>): void {
    this.events.push({ at: nowIso(), ...e });
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
  }

  /** Runs `fn` after every earlier change of this endpoint. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }
}
