/** Tables of alerts, their webhook deliveries (migration 0012) and the endpoints' traffic they read (0014). Times ISO-8601 text. */
export interface AlertsTable {
  id: string;
  tenant_id: string;
  name: string;
  /** null: every endpoint of the tenant. */
  endpoint: string | null;
  /** drift | p99LatencyMs | errorRate | requestsPerSecond */
  metric: string;
  /** > | >= | < | <= */
  op: string;
  threshold: number;
  window_seconds: number;
  webhook_url: string;
  /** The HMAC key of the webhook's signatures (needed in clear to sign; never returned by the API). */
  webhook_secret: string;
  /** ok | firing */
  state: string;
  state_since: string;
  /** The last evaluated value, null when the window held no data. */
  value: number | null;
  /** Why the last evaluation found no value (no logged rows, no training profile…), else null. */
  message: string | null;
  evaluated_at: string | null;
  /** JSON: [{at, state, value}] transitions, newest last (bounded). */
  history: string;
  /** The API node evaluating the alert until `lease_until`. */
  owner_node: string | null;
  lease_until: string | null;
  created_at: string;
}

export interface AlertDeliveriesTable {
  id: string;
  alert_id: string;
  tenant_id: string;
  /** The state the alert entered (the transition this delivery reports). */
  state: string;
  /** The exact JSON body sent (and signed). */
  body: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  last_attempt_at: string | null;
  /** null once delivered or given up. */
  next_attempt_at: string | null;
  delivered_at: string | null;
  failed_at: string | null;
  created_at: string;
}

/**
 * Prediction traffic of an endpoint in one 5-second slot, summed over the API nodes (migration
 * 0014); its columns `latency_<i>` count the requests in the i-th bucket of REQUEST_LATENCY_BUCKETS (the
 * last: above every bound).
 */
export interface EndpointTrafficTable {
  tenant_id: string;
  endpoint: string;
  /** The slot's start, ISO-8601. */
  slot: string;
  requests: number;
  /** Answered with a 5xx status. */
  errors: number;
  // latency_0 … latency_13: read and written through the untyped handle of services/alerts/traffic-window.ts.
}

export interface AlertTables {
  alerts: AlertsTable;
  alert_deliveries: AlertDeliveriesTable;
  endpoint_traffic: EndpointTrafficTable;
}
