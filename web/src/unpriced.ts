// What unpriced operations used, for their badge: "1,200 tokens", "8 seconds", in the page's
// language and digits, with the count's plural form. The API sends these counts beside
// `unpriced_operations` (live totals, per service, and every report row).
import { plural, type Locale } from "./i18n";
import { addMoney, localDigits, trimZeros } from "./money";

export interface UnpricedQuantities {
  unpriced_tokens?: number;
  unpriced_images?: number;
  /** A decimal string, shown exactly. */
  unpriced_video_seconds?: string;
  unpriced_characters?: number;
}

/** The non-zero quantities, each as its plural phrase (tokens, images, seconds, characters). */
export function unpricedQuantities(q: UnpricedQuantities, locale: Locale): string[] {
  const parts: string[] = [];
  if (q.unpriced_tokens) parts.push(plural("count.tokens", q.unpriced_tokens, locale));
  if (q.unpriced_images) parts.push(plural("count.images", q.unpriced_images, locale));
  const seconds = trimZeros(q.unpriced_video_seconds ?? "0");
  if (Number(seconds) > 0) {
    parts.push(plural("count.seconds", Number(seconds), locale, localDigits(seconds, locale)));
  }
  if (q.unpriced_characters) parts.push(plural("count.characters", q.unpriced_characters, locale));
  return parts;
}

/** Adds the quantities of several rows (seconds exactly, as decimal strings). */
export function addUnpriced(a: UnpricedQuantities, b: UnpricedQuantities): UnpricedQuantities {
  return {
    unpriced_tokens: (a.unpriced_tokens ?? 0) + (b.unpriced_tokens ?? 0),
    unpriced_images: (a.unpriced_images ?? 0) + (b.unpriced_images ?? 0),
    unpriced_video_seconds: addMoney(a.unpriced_video_seconds ?? "0", b.unpriced_video_seconds ?? "0"),
    unpriced_characters: (a.unpriced_characters ?? 0) + (b.unpriced_characters ?? 0),
  };
}

/** "2 unpriced operations · 1,200 tokens": the count, then what they used. */
export function unpricedText(count: number, q: UnpricedQuantities, locale: Locale): string {
  return [plural("count.unpriced", count, locale), ...unpricedQuantities(q, locale)].join(" · ");
}
