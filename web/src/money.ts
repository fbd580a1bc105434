// Money arrives as exact decimal strings ("0.000006"); it is shown exactly, never through
// a float. Charts alone turn it into numbers, to draw bars.

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

/** "1234.5" -> "$1,234.50": every digit kept, at least two decimals, grouped thousands. */
export function formatMoney(value: string, currency = "USD"): string {
  const match = DECIMAL.exec(value.trim());
  if (!match) return value;
  const [, sign = "", whole, fraction = ""] = match;
  const grouped = whole.replace(/^0+(?=\d)/, "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const decimals = fraction.replace(/0+$/, "").padEnd(2, "0");
  const symbol = currency === "USD" ? "$" : `${currency} `;
  return `${sign}${symbol}${grouped}.${decimals}`;
}

/** Adds exact decimal strings (used to total rows the API already summed per group). */
export function addMoney(a: string, b: string): string {
  const scale = Math.max(fractionDigits(a), fractionDigits(b));
  const total = toUnits(a, scale) + toUnits(b, scale);
  return fromUnits(total, scale);
}

/** -1, 0 or 1 as `a` is less than, equal to or more than `b` (exact decimal strings). */
export function compareMoney(a: string, b: string): number {
  const scale = Math.max(fractionDigits(a), fractionDigits(b));
  const [x, y] = [toUnits(a, scale), toUnits(b, scale)];
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * `part` as a percentage of `whole`, to two decimals, for drawing (a bar's width, a
 * tick's place): divided exactly in integers, rounded down; 0 when `whole` is not positive.
 */
export function percentOf(part: string, whole: string): number {
  const scale = Math.max(fractionDigits(part), fractionDigits(whole));
  const denominator = toUnits(whole, scale);
  if (denominator <= 0n) return 0;
  return Number((toUnits(part, scale) * 10_000n) / denominator) / 100;
}

function fractionDigits(value: string): number {
  return (value.split(".")[1] ?? "").length;
}

function toUnits(value: string, scale: number): bigint {
  const negative = value.startsWith("-");
  const [whole, fraction = ""] = value.replace("-", "").split(".");
  const units = BigInt(whole + fraction.padEnd(scale, "0"));
  return negative ? -units : units;
}

function fromUnits(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale).replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction ? "." + fraction : ""}`;
}

/** For charts only: a decimal string as a JS number. */
export function moneyNumber(value: string): number {
  return Number(value);
}
