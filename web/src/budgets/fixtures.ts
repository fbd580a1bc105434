// Budgets as the API answers them, for the unit tests.
import type { Budget, BudgetStatus } from "../api";

export function budget(fields: Partial<Omit<Budget, "status">> = {}, status: Partial<BudgetStatus> = {}): Budget {
  return {
    budget_id: "bud_1", name: "Team", scope: { kind: "tenant" }, period: "month", limit: "10",
    currency: "USD", thresholds: ["50", "80", "100"], action: "notify", revision: 1,
    created_at: "2026-06-01T00:00:00Z", updated_at: "2026-06-01T00:00:00Z",
    ...fields,
    status: {
      period_start: "2026-06-01T00:00:00Z", period_end: "2026-07-01T00:00:00Z", spent: "0", reserved: "0",
      remaining: fields.limit ?? "10", operations: 0, unpriced_operations: 0, thresholds_crossed: [],
      projected_spend: null, runs_out_at: null,
      ...status,
    },
  };
}
