// Which of the budgets that apply to a session is the tightest: the one with the least
// money left (all of a tenant's budgets share its currency; across currencies, the one
// with the smallest share of its limit left).
import type { Budget } from "../api";
import { compareMoney, percentOf } from "../money";

function tighter(a: Budget, b: Budget): number {
  const byShare = percentOf(a.status.remaining, a.limit) - percentOf(b.status.remaining, b.limit);
  if (a.currency !== b.currency) return byShare;
  return compareMoney(a.status.remaining, b.status.remaining) || byShare || a.name.localeCompare(b.name);
}

export function tightestBudget(budgets: Budget[]): Budget | null {
  return budgets.reduce<Budget | null>((best, budget) => (best === null || tighter(budget, best) < 0 ? budget : best), null);
}
