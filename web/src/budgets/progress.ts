// A budget's bar: spent, then reserved in a second shade, against the limit, with a tick
// at each threshold. Money stays exact decimal text; only the widths become numbers.
import type { Budget } from "../api";
import { addMoney, compareMoney, percentOf } from "../money";

/** The bar never stretches past twice the limit; spending beyond that fills it. */
export const MAX_SCALE = 200;

export interface Tick {
  /** Percent of the limit, as the API gave it ("80", "12.5"). */
  threshold: string;
  /** Where it sits on the bar, in percent of the bar's width. */
  at: number;
  crossed: boolean;
}

export interface BudgetBar {
  /** The percent of the limit the full bar stands for: 100, or more when spending or a threshold passes it. */
  scale: number;
  /** Widths in percent of the bar; reserved is stacked after spent, and the two never exceed 100. */
  spentWidth: number;
  reservedWidth: number;
  /** Where the limit is on the bar when the bar goes past it, else null (it is the bar's end). */
  limitAt: number | null;
  ticks: Tick[];
  /** Spent, and spent plus reserved, in percent of the limit (may pass 100). */
  usedPercent: number;
  committedPercent: number;
  level: "ok" | "warning" | "over";
}

const round2 = (value: number) => Math.round(value * 100) / 100;
/** A threshold ("12.5", percent of the limit) as a number, for placing its tick. */
const thresholdPercent = (threshold: string) => percentOf(threshold, "100");
const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));

export function budgetBar(budget: Pick<Budget, "limit" | "thresholds" | "status">): BudgetBar {
  const { spent, reserved, thresholds_crossed: crossed } = budget.status;
  const committed = addMoney(spent, reserved);
  const usedPercent = Math.max(0, percentOf(spent, budget.limit));
  const committedPercent = Math.max(usedPercent, percentOf(committed, budget.limit));
  const highestThreshold = Math.max(0, ...budget.thresholds.map(thresholdPercent));
  const scale = clamp(Math.max(100, committedPercent, highestThreshold), 100, MAX_SCALE);
  const width = (percent: number) => round2((clamp(percent, 0, scale) / scale) * 100);
  const spentWidth = width(usedPercent);
  const ticks = budget.thresholds
    .filter((threshold) => thresholdPercent(threshold) <= scale)
    .map((threshold) => ({
      threshold,
      at: width(thresholdPercent(threshold)),
      crossed: crossed.some((c) => compareMoney(c, threshold) === 0),
    }));
  const over = compareMoney(spent, budget.limit) >= 0;
  return {
    scale,
    spentWidth,
    reservedWidth: round2(width(committedPercent) - spentWidth),
    limitAt: scale > 100 ? width(100) : null,
    ticks,
    usedPercent,
    committedPercent,
    level: over ? "over" : crossed.length > 0 ? "warning" : "ok",
  };
}
