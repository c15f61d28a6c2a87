/** JSON schemas of alerts (POST/GET/DELETE /v1/alerts) and their webhook deliveries (TypeBox). */
import { Type, type Static } from '@sinclair/typebox';
import { NumberOrNull, StringEnum } from './schemas.js';

export const ALERT_METRICS = ['drift', 'p99LatencyMs', 'errorRate', 'requestsPerSecond'] as const;
export const ALERT_OPS = ['>', '>=', '<', '<='] as const;
export type AlertMetric = (typeof ALERT_METRICS)[number];
export type AlertOp = (typeof ALERT_OPS)[number];
export type AlertState = 'ok' | 'firing';

export const CreateAlert = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128 }),
  endpoint: Type.Optional(Type.String({ minLength: 1, description: "the endpoint watched (default: every endpoint of the tenant, taken together)" })),
  metric: StringEnum(ALERT_METRICS, { description: 'drift: the largest feature PSI of the window; p99LatencyMs: server-side request latency; errorRate: share of requests answered 5xx; requestsPerSecond' }),
  op: StringEnum(ALERT_OPS),
  threshold: Type.Number(),
  windowSeconds: Type.Integer({ minimum: 10, maximum: 7 * 86400, description: 'the window the metric is measured over, ending at each evaluation' }),
  webhook: Type.Object({
    url: Type.String({ minLength: 1, maxLength: 2048, description: 'an http:// or https:// URL, POSTed at every transition' }),
    secret: Type.String({ minLength: 1, maxLength: 256, description: 'the HMAC-SHA256 key of X-Aiaas-Signature; never returned' }),
  }, { additionalProperties: false }),
}, { additionalProperties: false });
export type CreateAlertBody = Static<typeof CreateAlert>;

const Transition = Type.Object({ at: Type.String(), state: StringEnum(['ok', 'firing'] as const), value: NumberOrNull() });

export const AlertDelivery = Type.Object({
  id: Type.String({ description: 'sent as X-Aiaas-Delivery' }),
  state: StringEnum(['ok', 'firing'] as const, { description: 'the state the alert entered' }),
  attempts: Type.Integer(),
  lastStatus: NumberOrNull({ integer: true, description: 'HTTP status of the last attempt (null: no answer, see lastError)' }),
  lastError: Type.Union([Type.String(), Type.Null()]),
  lastAttemptAt: Type.Union([Type.String(), Type.Null()]),
  nextAttemptAt: Type.Union([Type.String(), Type.Null()], { description: 'null once delivered or given up' }),
  deliveredAt: Type.Union([Type.String(), Type.Null()]),
  failedAt: Type.Union([Type.String(), Type.Null()], { description: 'set when the attempts ran out' }),
  createdAt: Type.String(),
});

export const AlertSchema = Type.Object({
  id: Type.String(), name: Type.String(), endpoint: Type.Union([Type.String(), Type.Null()]),
  metric: StringEnum(ALERT_METRICS), op: StringEnum(ALERT_OPS), threshold: Type.Number(), windowSeconds: Type.Integer(),
  webhook: Type.Object({ url: Type.String(), hasSecret: Type.Boolean() }),
  state: StringEnum(['ok', 'firing'] as const), stateSince: Type.String(),
  value: NumberOrNull({ description: 'the last evaluated value; null when the window held no data (then the alert is ok)' }),
  message: Type.Union([Type.String(), Type.Null()], { description: 'why the last evaluation found no value' }),
  evaluatedAt: Type.Union([Type.String(), Type.Null()]),
  history: Type.Array(Transition, { description: 'transitions, newest last (the last 100)' }),
  deliveries: Type.Optional(Type.Array(AlertDelivery, { description: 'GET /v1/alerts/{id}: the last 50 webhook deliveries, newest first' })),
  createdAt: Type.String(),
});
export type AlertView = Static<typeof AlertSchema>;
export type AlertDeliveryView = Static<typeof AlertDelivery>;
