// The months a statement can be asked for, as the API names them ("2026-12"), newest first.

/** `current` ("YYYY-MM") and the `count - 1` months before it, newest first. */
export function recentMonths(current: string, count: number): string[] {
  const [year, month] = current.split("-").map(Number);
  return Array.from({ length: count }, (_, back) => {
    const index = year * 12 + (month - 1) - back;
    return `${String(Math.floor(index / 12)).padStart(4, "0")}-${String((index % 12) + 1).padStart(2, "0")}`;
  });
}
