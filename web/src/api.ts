// The meterstream HTTP API, typed as the dashboard and the tracker use it. Money is a string.
import { HttpError } from "./sse";

export interface ServiceStats {
  operations: number;
  cost: string;
  models: string[];
}

export interface SessionStats {
  session_id: string;
  currency: string;
  total_cost: string;
  operations: number;
  unpriced_operations: number;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  thinking_tokens: number;
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
  prices: Record<string, string>;
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
  images: number;
  video_seconds: string;
  characters: number;
  cost: string;
  currency: string;
  pricing_status: string;
}

export interface ReportRow {
  keys: Record<string, string>;
  currency: string;
  operations: number;
  cost: string;
}

export interface ReportPeriod {
  start: string;
  end: string;
  rows: ReportRow[];
  totals: Record<string, { operations: number; cost: string }>;
}

export interface UsageReport {
  group_by: string[];
  current: ReportPeriod;
  previous: ReportPeriod | null;
  change: { currency: string; cost: string; cost_ratio: string | null; operations: number }[];
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
    return (await response.json()) as T;
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

  report(groupBy: string[], hours: number): Promise<UsageReport> {
    const end = new Date();
    const start = new Date(end.getTime() - hours * 3600_000);
    const params = new URLSearchParams({ start: start.toISOString(), end: end.toISOString() });
    groupBy.forEach((name) => params.append("group_by", name));
    return this.request("GET", `/v1/reports/usage?${params}`);
  }
}
