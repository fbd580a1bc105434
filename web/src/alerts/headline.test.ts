import { describe, expect, it } from "vitest";

import type { AlertRecord } from "../api";
import { translator } from "../i18n";
import { alertHeadline } from "./headline";

const plain = (text: string) => text.replace(/[\u2066-\u2069\u061c]/g, "");

function alert(kind: AlertRecord["kind"], budget: Partial<NonNullable<AlertRecord["budget"]>> | null): AlertRecord {
  return {
    alert_id: "a", kind, tenant_id: "t", raised_at: "2026-06-10T12:00:00Z", title: "Budget 'Team' reached 80% (server)",
    budget: budget && {
      budget_id: "b", name: "Team", period_start: "2026-06-01T00:00:00Z", period_end: "2026-07-01T00:00:00Z",
      threshold: null, spent: "8.5", limit: "10", currency: "USD", action: "notify", runs_out_at: null, ...budget,
    },
    event: null,
  };
}

describe("alertHeadline", () => {
  it("says which threshold a budget reached, in each language, money as money.ts writes it", () => {
    const reached = alert("budget.threshold", { threshold: "80" });
    expect(plain(alertHeadline(reached, "en", translator("en")))).toBe("“Team” reached 80% of its $10.00 limit: $8.50 spent");
    expect(plain(alertHeadline(reached, "ar", translator("ar")))).toBe("بلغت «Team» ٨٠٪ من حدّها البالغ $١٠٫٠٠، وأُنفق $٨٫٥٠");
  });
  it("says when a forecast budget runs out", () => {
    const forecast = alert("budget.forecast", { runs_out_at: "2026-06-20T08:00:00Z" });
    expect(plain(alertHeadline(forecast, "en", translator("en")))).toMatch(/^“Team” will run out on 20 Jun 2026, .* \(\$10\.00 limit\)$/);
  });
  it("falls back to the API's title when the alert has no budget figures", () => {
    expect(alertHeadline(alert("budget.threshold", null), "ar", translator("ar"))).toBe("Budget 'Team' reached 80% (server)");
    expect(alertHeadline(alert("budget.forecast", {}), "en", translator("en"))).toBe("Budget 'Team' reached 80% (server)");
  });
});

describe("anomaly headlines", () => {
  const anomaly = {
    alert_id: "alr_1", kind: "anomaly.spend" as const, tenant_id: "acme", raised_at: "2026-12-02T11:20:00Z",
    title: "Unusual hourly spend driven by ben on imagen-4.0-generate (image): 12.00 USD in 60 min",
    budget: null, event: null,
    anomaly: {
      series: "tenant" as const, window_start: "2026-12-02T11:00:00Z", window_minutes: 60, spent: "12.000000000000",
      expected: "1.000000000000", threshold: "3.5", history_hours: 30, currency: "USD",
      drivers: [{ user_id: "ben", model: "imagen-4.0-generate", service: "image", spent: "12", expected: "0.5" }],
    },
  };
  it("says what was spent, what was expected and who drove it, in English and Arabic", () => {
    const en = alertHeadline(anomaly, "en", translator("en"));
    expect(en).toContain("$12.00");
    expect(en).toContain("$1.00");
    expect(en).toContain("ben");
    expect(en).toContain("imagen-4.0-generate");
    const ar = alertHeadline(anomaly, "ar", translator("ar"));
    expect(ar).toContain("المتوقع");
    expect(ar).toContain("imagen-4.0-generate");
  });
});
