// Money arrives as exact decimal strings ("0.000006"); it is shown exactly, never through
// a float. Charts alone turn it into numbers, to draw bars.

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

/** Significant digits shown beyond the second decimal (the exact value is in `exactMoney`). */
export const SIGNIFICANT = 6;

/**
 * The display rule for money: at least two decimals, and beyond them only as many digits as
 * six significant digits need (rounded half up), thousands grouped:
 * "1234.5" -> "$1,234.50", "1.351496" -> "$1.3515", "0.001496" -> "$0.001496",
 * "0.0000000625" -> "$0.0000000625". `exactMoney` gives every digit (tooltips, exports).
 * In Arabic the digits are Arabic-Indic, as every other number on an Arabic page.
 */
export function formatMoney(value: string, currency = "USD", locale: DigitLocale = "en"): string {
  const match = DECIMAL.exec(value.trim());
  if (!match) return value;
  const [, sign = "", whole, fraction = ""] = match;
  return present(sign, ...roundToSignificant(whole.replace(/^0+(?=\d)/, ""), fraction.replace(/0+$/, "")),
                 currency, locale);
}

/** Every digit of the amount, at least two decimals: "$0.0012345678". */
export function exactMoney(value: string, currency = "USD", locale: DigitLocale = "en"): string {
  const match = DECIMAL.exec(value.trim());
  if (!match) return value;
  const [, sign = "", whole, fraction = ""] = match;
  return present(sign, whole.replace(/^0+(?=\d)/, ""), fraction.replace(/0+$/, ""), currency, locale);
}

type DigitLocale = "en" | "ar";

function present(sign: string, whole: string, fraction: string, currency: string, locale: DigitLocale): string {
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const symbol = currency === "USD" ? "$" : `${currency} `;
  const negative = sign && /[1-9]/.test(whole + fraction) ? "-" : "";
  return localDigits(`${negative}${symbol}${grouped}.${fraction.padEnd(2, "0")}`, locale);
}

/** (whole, fraction) with the fraction cut to two decimals or six significant digits, whichever is longer. */
function roundToSignificant(whole: string, fraction: string): [string, string] {
  const leading = whole === "0" ? (/^0*/.exec(fraction)?.[0].length ?? 0) : 0;
  const significantInWhole = whole === "0" ? 0 : whole.length;
  const keep = Math.max(2, whole === "0" ? leading + SIGNIFICANT : SIGNIFICANT - significantInWhole);
  if (fraction.length <= keep) return [whole, fraction];
  const digits = BigInt(whole + fraction.slice(0, keep)) + (fraction[keep] >= "5" ? 1n : 0n);
  const text = digits.toString().padStart(keep + 1, "0");
  return [text.slice(0, text.length - keep), text.slice(text.length - keep).replace(/0+$/, "")];
}

/** `text` kept left to right inside a right-to-left sentence (an amount: "$" before its digits). */
export function ltrIsolate(text: string): string {
  return `\u2066${text}\u2069`;
}

/** "8.500000" -> "8.5", "10" stays "10": a decimal string without the zeros the engine pads with. */
export function trimZeros(value: string): string {
  return value.includes(".") ? value.replace(/0+$/, "").replace(/\.$/, "") : value;
}

const ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩";

/** Western digits, separators included, as Arabic-Indic ones for an Arabic page ("1,234.5" -> "١٬٢٣٤٫٥"). */
export function localDigits(text: string, locale: DigitLocale): string {
  if (locale !== "ar") return text;
  return text.replace(/[0-9.,]/g, (c) => (c === "." ? "٫" : c === "," ? "٬" : ARABIC_DIGITS[Number(c)]));
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

/** A chart axis's money ticks, in the page's digits. */
export function moneyTick(locale: DigitLocale): (value: number) => string {
  return (value: number) => formatMoney(String(value), "USD", locale);
}
