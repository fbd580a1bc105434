// The meterstream HTTP API, typed as the dashboard and the tracker use it. Money is a string.
import { HttpError } from "./sse";
import type { UnpricedQuantities } from "./unpriced";

export interface ServiceStats extends UnpricedQuantities {
  operations: number;
  /** The priced operations' cost; unpriced ones are counted in `unpriced_operations`, never as 0. */
  cost: string;
  unpriced_operations?: number;
  models: string[];
}

export interface SessionStats extends UnpricedQuantities {
  session_id: string;
  currency: string;
  total_cost: string;
  operations: number;
  unpriced_operations: number;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  thinking_tokens: number;
  tool_use_prompt_tokens?: number;
  images: number;
  video_seconds: string;
  characters: number;
  by_service: Record<string, ServiceStats>;
  first_event_at: string | null;
  last_event_at: string | null;
}

export interface Session {
  session_id: string;
  user_id: string | null;
  labels: Record<string, string>;
  status: "active" | "ended";
  started_by: "explicit" | "implicit";
  started_at: string;
  ended_at: string | null;
}

export interface Price {
  model: string;
  billing_unit: string;
  per: number;
  /** Component -> price per `per` units; a variant after "@" is a resolution ("second@1080p"). */
  prices: Record<string, string>;
  long_context?: { above_tokens: number; prices: Record<string, string> } | null;
  batch_factor?: string | null;
  free_tier?: boolean;
  voice_tier?: string | null;
  currency: string;
  source: string;
  effective_from: string;
  read_on: string;
  in_force: boolean;
}

export interface Pricing {
  catalog_version: string;
  currency: string;
  prices: Price[];
}

export interface Operation {
  event_id: string;
  occurred_at: string;
  session_id: string;
  user_id: string | null;
  service: string;
  operation: string;
  model: string;
  billing_unit: string;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens?: number;
  thinking_tokens?: number;
  tool_use_prompt_tokens?: number;
  images: number;
  video_seconds: string;
  characters: number;
  cost: string;
  currency: string;
  pricing_status: string;
  unpriced_reason?: string | null;
}

export interface ReportRow extends UnpricedQuantities {
  keys: Record<string, string>;
  currency: string;
  operations: number;
  cost: string;
  unpriced_operations?: number;
}

export interface ReportPeriod {
  start: string;
  end: string;
  rows: ReportRow[];
  totals: Record<string, { operations: number; cost: string; unpriced_operations?: number }>;
}

export interface UsageReport {
  group_by: string[];
  current: ReportPeriod;
  previous: ReportPeriod | null;
  change: { currency: string; cost: string; cost_ratio: string | null; operations: number }[];
}

// --- budgets and alerts (the bodies of meterstream/api/models.py and schemas/alerts.py) ---

export const SCOPE_KINDS = ["tenant", "user", "session", "api_key", "attribute"] as const;
export const PERIODS = ["day", "week", "month", "lifetime"] as const;
export const ACTIONS = ["notify", "block"] as const;
export const ALERT_KINDS = ["budget.threshold", "budget.forecast", "anomaly.spend", "anomaly.burst"] as const;
export const SERVICES = ["text", "image", "video", "speech", "audio", "embedding", "other"] as const;

export type ScopeKind = (typeof SCOPE_KINDS)[number];
export type BudgetPeriod = (typeof PERIODS)[number];
export type BudgetAction = (typeof ACTIONS)[number];
export type AlertKind = (typeof ALERT_KINDS)[number];

export interface BudgetScope {
  kind: ScopeKind;
  value?: string | null;
  attribute?: string | null;
  service?: string | null;
  model?: string | null;
}

export interface BudgetStatus {
  period_start: string;
  period_end: string | null;
  spent: string;
  reserved: string;
  remaining: string;
  operations: number;
  /** Operations counted whose cost is unknown: a count, never $0. */
  unpriced_operations: number;
  thresholds_crossed: string[];
  projected_spend: string | null;
  runs_out_at: string | null;
}

export interface Budget {
  budget_id: string;
  name: string;
  scope: BudgetScope;
  period: BudgetPeriod;
  limit: string;
  currency: string;
  /** Percent of the limit, as decimal strings ("50", "12.5"). */
  thresholds: string[];
  action: BudgetAction;
  revision: number;
  created_at: string;
  updated_at: string;
  status: BudgetStatus;
}

export interface BudgetIn {
  name: string;
  scope: BudgetScope;
  period: BudgetPeriod;
  limit: string;
  thresholds: string[];
  action: BudgetAction;
}

export interface AlertRecord {
  alert_id: string;
  kind: AlertKind;
  tenant_id: string;
  raised_at: string;
  title: string;
  budget: {
    budget_id: string;
    name: string;
    period_start: string;
    period_end: string | null;
    threshold: string | null;
    spent: string;
    limit: string;
    currency: string;
    action: string;
    runs_out_at: string | null;
  } | null;
  event: {
    event_id: string;
    session_id: string;
    user_id: string | null;
    service: string;
    model: string;
    cost: string;
    occurred_at: string;
  } | null;
  anomaly?: Anomaly | null;
}

export interface AnomalyDriver {
  user_id: string | null;
  model: string;
  service: string;
  spent: string;
  expected: string;
}

export interface Anomaly {
  series: "tenant" | "user_model";
  window_start: string;
  window_minutes: number;
  spent: string;
  expected: string;
  threshold: string;
  history_hours: number;
  currency: string;
  drivers: AnomalyDriver[];
}

export interface Recommendation {
  rule_id: string;
  kind: string;
  model: string;
  alternative: string;
  operations: number;
  cost: string;
  would_cost: string;
  saving: string;
  share_of_cost: string;
  share_of_operations: string;
  currency: string;
  trade_off: string;
}

export interface Recommendations {
  start: string;
  end: string;
  total_cost: string;
  operations: number;
  unpriced_operations: number;
  recommendations: Recommendation[];
  saving: string;
}

export interface TopRow {
  key: Record<string, string>;
  operations: number;
  cost: string | null;
  unpriced_operations: number;
  currency: string;
}

export interface Distribution {
  by: "session" | "user";
  currency: string;
  units: number;
  p50: string;
  p90: string;
  p99: string;
  max: string;
  total: string;
  with_unpriced: number;
  unpriced_only: number;
}

export interface Change {
  service: string;
  model: string;
  currency: string;
  current: string;
  previous: string;
  change: string;
  ratio: string | null;
}

export interface Forecast {
  month: string;
  currency: string;
  spent: string;
  forecast: string;
  low: string;
  high: string;
  unpriced_operations: number;
}

// --- API keys (meterstream/api/key_models.py) ---

export const KEY_STATUSES = ["active", "expired", "revoked"] as const;
export type KeyStatus = (typeof KEY_STATUSES)[number];

/** One of the tenant's API keys, as GET /v1/keys lists it: never its secret. */
export interface ApiKeyRecord {
  key_id: string;
  name: string;
  created_at: string;
  /** null: valid until revoked. */
  expires_at: string | null;
  revoked_at: string | null;
  status: KeyStatus;
  /** Whether this is the key the request was made with (this dashboard's). */
  current: boolean;
}

/** POST /v1/keys: a name, and an expiry in days (a number, or the text typed when it is not one). */
export interface KeyIn {
  name: string;
  expires_in_days?: number | string;
}

/** The answer to POST /v1/keys: the record, and the full key, shown this once. */
export interface CreatedKey extends ApiKeyRecord {
  key: string;
}

/** GET /v1/usage/health: what the stream made of the tenant's usage messages. */
export interface UsageHealth {
  priced: number;
  unpriced: number;
  duplicates: number;
  /** Event ids re-sent with other content: the first one counts; never silent. */
  conflicts: number;
  dead_lettered: number;
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly apiKey?: string,
  ) {}

  get headers(): Record<string, string> {
    return this.apiKey ? { Authorization: `Bearer ${this.apiKey}` } : {};
  }

  url(path: string): string {
    return `${this.baseUrl.replace(/\/$/, "")}${path}`;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(this.url(path), {
      method,
      headers: { ...this.headers, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new HttpError(response.status, await response.text());
    return (response.status === 204 ? undefined : await response.json()) as T;
  }

  startSession(userId?: string): Promise<Session> {
    return this.request("POST", "/v1/sessions", userId ? { user_id: userId } : {});
  }

  endSession(sessionId: string): Promise<Session> {
    return this.request("POST", `/v1/sessions/${encodeURIComponent(sessionId)}/end`);
  }

  session(sessionId: string): Promise<Session> {
    return this.request("GET", `/v1/sessions/${encodeURIComponent(sessionId)}`);
  }

  pricing(): Promise<Pricing> {
    return this.request("GET", "/v1/pricing");
  }

  activity(limit = 20): Promise<Operation[]> {
    return this.request("GET", `/v1/activity?limit=${limit}`);
  }

  async budgets(): Promise<Budget[]> {
    return (await this.request<{ budgets: Budget[] }>("GET", "/v1/budgets")).budgets;
  }

  createBudget(budget: BudgetIn): Promise<Budget> {
    return this.request("POST", "/v1/budgets", budget);
  }

  deleteBudget(budgetId: string): Promise<void> {
    return this.request("DELETE", `/v1/budgets/${encodeURIComponent(budgetId)}`);
  }

  /** The tenant's API keys, oldest first, revoked and expired ones too. */
  async keys(): Promise<ApiKeyRecord[]> {
    return (await this.request<{ keys: ApiKeyRecord[] }>("GET", "/v1/keys")).keys;
  }

  createKey(key: KeyIn): Promise<CreatedKey> {
    return this.request("POST", "/v1/keys", key);
  }

  revokeKey(keyId: string): Promise<ApiKeyRecord> {
    return this.request("POST", `/v1/keys/${encodeURIComponent(keyId)}/revoke`);
  }

  /** The budgets that count this session's usage. */
  async sessionBudgets(sessionId: string): Promise<Budget[]> {
    return (await this.request<{ budgets: Budget[] }>(
      "GET", `/v1/sessions/${encodeURIComponent(sessionId)}/budgets`)).budgets;
  }

  /** The tenant's latest alerts, newest first. */
  async alerts(limit = 50): Promise<AlertRecord[]> {
    return (await this.request<{ alerts: AlertRecord[] }>("GET", `/v1/alerts?limit=${limit}`)).alerts;
  }

  /** Cost insights of the last `days` days (GET /v1/insights/...). */
  async insights(days = 30) {
    const end = new Date();
    const range = { start: new Date(end.getTime() - days * 86_400_000).toISOString(), end: end.toISOString() };
    const get = <T>(path: string, extra: Record<string, string> = {}) =>
      this.request<T>("GET", insightsPath(path, range, extra));
    const [recommendations, anomalies, sessions, users, distributions, comparison, forecast] = await Promise.all([
      get<Recommendations>("recommendations"),
      this.request<{ anomalies: AlertRecord[] }>("GET", "/v1/insights/anomalies?limit=20"),
      get<{ rows: TopRow[] }>("top", { by: "session", limit: "5" }),
      get<{ rows: TopRow[] }>("top", { by: "user", limit: "5" }),
      get<{ distributions: Distribution[] }>("distributions"),
      get<{ changes: Change[] }>("comparison"),
      this.request<Forecast>("GET", "/v1/insights/forecast"),
    ]);
    return {
      recommendations, anomalies: anomalies.anomalies, sessions: sessions.rows, users: users.rows,
      distributions: distributions.distributions, changes: comparison.changes, forecast, range,
    };
  }

  usageHealth(): Promise<UsageHealth> {
    return this.request("GET", "/v1/usage/health");
  }

  /** The tenant's sessions, newest first. */
  sessions(limit = 200): Promise<Session[]> {
    return this.request("GET", `/v1/sessions?limit=${limit}`);
  }

  report(groupBy: string[], hours: number, end = new Date()): Promise<UsageReport> {
    return this.request("GET", reportPath(groupBy, hours, end));
  }

  /** Downloads `path` as a file: through fetch, so the API key travels in the header, never in a URL. */
  async download(path: string, fallbackName: string): Promise<void> {
    const response = await fetch(this.url(path), { headers: this.headers });
    if (!response.ok) throw new HttpError(response.status, await response.text());
    const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") ?? "")?.[1] ?? fallbackName;
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = name;
    link.click();
    URL.revokeObjectURL(link.href);
  }
}

/** GET /v1/insights/`path` over `range` (ISO times), with more parameters (`format: "csv"` for a file). */
export function insightsPath(path: string, range: { start: string; end: string },
                             extra: Record<string, string> = {}): string {
  return `/v1/insights/${path}?${new URLSearchParams({ ...range, ...extra })}`;
}

/** GET /v1/reports/usage over the `hours` before `end`, grouped by `groupBy` (add `format=csv` for a file). */
export function reportPath(groupBy: string[], hours: number, end: Date, format: "json" | "csv" = "json"): string {
  const start = new Date(end.getTime() - hours * 3600_000);
  const params = new URLSearchParams({ start: start.toISOString(), end: end.toISOString() });
  groupBy.forEach((name) => params.append("group_by", name));
  if (format === "csv") params.set("format", "csv");
  return `/v1/reports/usage?${params}`;
}
