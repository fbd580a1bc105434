import { describe, expect, it } from "vitest";

import type { AlertRecord } from "../api";
import { mergeAlerts } from "./merge";

function alert(alert_id: string, raised_at: string, title = alert_id): AlertRecord {
  return { alert_id, kind: "budget.threshold", tenant_id: "t", raised_at, title, budget: null, event: null };
}

describe("mergeAlerts", () => {
  it("puts the newest first", () => {
    const merged = mergeAlerts([alert("a", "2026-06-01T10:00:00Z")], [alert("b", "2026-06-01T11:00:00Z")]);
    expect(merged.map((a) => a.alert_id)).toEqual(["b", "a"]);
  });
  it("keeps one entry per alert_id when an alert comes again (replay, reconnect)", () => {
    const first = [alert("a", "2026-06-01T10:00:00Z"), alert("b", "2026-06-01T09:00:00Z")];
    const again = [alert("a", "2026-06-01T10:00:00Z", "a again"), alert("c", "2026-06-01T12:00:00Z")];
    const merged = mergeAlerts(first, again);
    expect(merged.map((a) => a.alert_id)).toEqual(["c", "a", "b"]);
    expect(merged[1].title).toBe("a again");
  });
  it("orders by time, not by the text of the timestamp", () => {
    const merged = mergeAlerts([], [alert("utc", "2026-06-01T10:30:00Z"), alert("offset", "2026-06-01T12:00:00+02:00")]);
    expect(merged.map((a) => a.alert_id)).toEqual(["utc", "offset"]);
  });
  it("keeps only the latest ones", () => {
    const many = Array.from({ length: 5 }, (_, i) => alert(`a${i}`, `2026-06-01T1${i}:00:00Z`));
    expect(mergeAlerts([], many, 3).map((a) => a.alert_id)).toEqual(["a4", "a3", "a2"]);
  });
});
