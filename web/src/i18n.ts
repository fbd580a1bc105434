// English and Arabic. Arabic pages are laid out right to left (see `direction`).

import { insightsAr, insightsEn } from "./insights.i18n";
import { keysAr, keysEn } from "./keys.i18n";
import { statementsAr, statementsEn } from "./statements.i18n";
import { usageAr, usageEn } from "./usage.i18n";

export type Locale = "en" | "ar";

const en = {
  title: "meterstream",
  subtitle: "Live generative-AI usage and cost",
  language: "العربية",
  apiKey: "API key",
  save: "Save",
  keyNeeded: "Enter an API key (made with `meterstream keys create`) to see your usage.",
  startSession: "Start session",
  endSession: "End session",
  openSession: "Open",
  sessionIdPlaceholder: "Session id",
  tracker: "Usage tracker",
  collapse: "Collapse",
  expand: "Expand",
  active: "Active",
  ended: "Ended",
  connecting: "Connecting…",
  cost: "Cost",
  operations: "Operations",
  tokens: "Tokens",
  videoDuration: "Video duration",
  byService: "By service",
  noUsage: "No usage yet",
  session: "Session",
  started: "Started",
  lastUpdate: "Last update",
  services: "Services",
  priceList: "Price list",
  model: "Model",
  billingUnit: "Billing unit",
  price: "Price",
  source: "Source",
  effective: "Effective",
  recentActivity: "Recent activity",
  noActivity: "No operations yet",
  costOverTime: "Cost over time",
  perService: "Per service",
  perModel: "Per model",
  periodComparison: "This period against the one before",
  thisPeriod: "This period",
  previousPeriod: "Previous period",
  error: "Error",
  per: "per",
  "service.text": "Text",
  "service.image": "Images",
  "service.video": "Video",
  "service.speech": "Speech",
  "service.audio": "Audio",
  "service.embedding": "Embeddings",
  "service.other": "Other",
  "unit.tokens": "tokens",
  "unit.images": "image",
  "unit.video": "second of video",
  "unit.characters": "characters",
  "component.input": "input",
  "component.output": "output",
  "component.cached_input": "cached input",
  "component.audio_input": "audio input",
  "component.cached_audio_input": "cached audio input",
  "component.image_output": "image output",
  "component.image": "image",
  "component.second": "second",
  "component.second_with_audio": "second with audio",
  "component.character": "character",
  viewUsage: "Usage",
  viewBudgets: "Budgets & alerts",
  views: "Views",
  budgets: "Budgets",
  noBudgets: "No budgets yet. Create one to be alerted before spending runs away.",
  newBudget: "New budget",
  budgetName: "Name",
  scopeKind: "Applies to",
  "scopeKind.tenant": "All usage",
  "scopeKind.user": "One user",
  "scopeKind.session": "One session",
  "scopeKind.api_key": "One API key",
  "scopeKind.attribute": "An attribute value",
  "valueLabel.user": "User id",
  "valueLabel.session": "Session id",
  "valueLabel.api_key": "API key id",
  "valueLabel.attribute": "Attribute value",
  attributeKey: "Attribute key",
  scopeService: "Service (optional)",
  anyService: "Any service",
  scopeModel: "Model (optional)",
  period: "Period",
  limit: "Limit",
  thresholds: "Alert at (% of the limit)",
  thresholdsHint: "Comma-separated, e.g. 50, 80, 100",
  action: "At the limit",
  create: "Create budget",
  creating: "Creating…",
  cancel: "Cancel",
  delete: "Delete",
  confirmDelete: "Delete this budget?",
  confirmDeleteYes: "Yes, delete",
  spent: "Spent",
  reserved: "Reserved",
  remaining: "Remaining",
  ofLimit: "of the limit",
  projected: "Projected by the period's end",
  runsOut: "Runs out on",
  unpricedOps: "unpriced",
  unpricedHint: "Operations whose cost is unknown: counted, never priced as $0",
  alertAt: "Alert at",
  "period.day": "Daily",
  "period.week": "Weekly",
  "period.month": "Monthly",
  "period.lifetime": "Lifetime",
  "action.notify": "Notify",
  "action.block": "Block",
  "actionHint.notify": "alerts only",
  "actionHint.block": "calls past the limit are refused",
  "scope.tenant": "all usage",
  "scope.user": "user",
  "scope.session": "session",
  "scope.api_key": "API key",
  "scope.attribute": "attribute",
  "scope.service": "service",
  "scope.model": "model",
  alerts: "Alerts",
  noAlerts: "No alerts yet",
  live: "Live",
  newAlert: "New",
  budget: "Budget",
  "alertKind.budget.threshold": "Threshold",
  "alertKind.budget.forecast": "Forecast",
  remainingBudget: "Budget left",
  of: "of",
  overBudget: "Over budget",
  listSeparator: " · ",
  "alertTitle.budget.threshold": "“{name}” reached {threshold} of its {limit} limit: {spent} spent",
  "alertTitle.budget.forecast": "“{name}” will run out on {date} at this rate ({limit} limit)",
  ...statementsEn,
  ...usageEn,
  ...insightsEn,
  ...keysEn,
};

export type MessageKey = keyof typeof en;

const ar: Record<MessageKey, string> = {
  title: "ميترستريم",
  subtitle: "استخدام الذكاء الاصطناعي التوليدي وتكلفته مباشرة",
  language: "English",
  apiKey: "مفتاح الواجهة",
  save: "حفظ",
  keyNeeded: "أدخل مفتاح الواجهة (يُنشأ بالأمر meterstream keys create) لعرض استخدامك.",
  startSession: "بدء جلسة",
  endSession: "إنهاء الجلسة",
  openSession: "فتح",
  sessionIdPlaceholder: "معرّف الجلسة",
  tracker: "متتبع الاستخدام",
  collapse: "طيّ",
  expand: "توسيع",
  active: "نشطة",
  ended: "منتهية",
  connecting: "جارٍ الاتصال…",
  cost: "التكلفة",
  operations: "العمليات",
  tokens: "الرموز",
  videoDuration: "مدة الفيديو",
  byService: "حسب الخدمة",
  noUsage: "لا يوجد استخدام بعد",
  session: "الجلسة",
  started: "البداية",
  lastUpdate: "آخر تحديث",
  services: "الخدمات",
  priceList: "قائمة الأسعار",
  model: "النموذج",
  billingUnit: "وحدة الفوترة",
  price: "السعر",
  source: "المصدر",
  effective: "ساري من",
  recentActivity: "النشاط الأخير",
  noActivity: "لا توجد عمليات بعد",
  costOverTime: "التكلفة عبر الزمن",
  perService: "حسب الخدمة",
  perModel: "حسب النموذج",
  periodComparison: "هذه الفترة مقارنة بالفترة السابقة",
  thisPeriod: "هذه الفترة",
  previousPeriod: "الفترة السابقة",
  error: "خطأ",
  per: "لكل",
  "service.text": "النصوص",
  "service.image": "الصور",
  "service.video": "الفيديو",
  "service.speech": "الكلام",
  "service.audio": "الصوت",
  "service.embedding": "التضمينات",
  "service.other": "أخرى",
  "unit.tokens": "رمز",
  "unit.images": "صورة",
  "unit.video": "ثانية فيديو",
  "unit.characters": "حرف",
  "component.input": "إدخال",
  "component.output": "إخراج",
  "component.cached_input": "إدخال مخزّن",
  "component.audio_input": "إدخال صوتي",
  "component.cached_audio_input": "إدخال صوتي مخزّن",
  "component.image_output": "إخراج صور",
  "component.image": "صورة",
  "component.second": "ثانية",
  "component.second_with_audio": "ثانية مع صوت",
  "component.character": "حرف",
  viewUsage: "الاستخدام",
  viewBudgets: "الميزانيات والتنبيهات",
  views: "العروض",
  budgets: "الميزانيات",
  noBudgets: "لا توجد ميزانيات بعد. أنشئ واحدة لتُنبَّه قبل أن يخرج الإنفاق عن السيطرة.",
  newBudget: "ميزانية جديدة",
  budgetName: "الاسم",
  scopeKind: "تنطبق على",
  "scopeKind.tenant": "كل الاستخدام",
  "scopeKind.user": "مستخدم واحد",
  "scopeKind.session": "جلسة واحدة",
  "scopeKind.api_key": "مفتاح واجهة واحد",
  "scopeKind.attribute": "قيمة سمة",
  "valueLabel.user": "معرّف المستخدم",
  "valueLabel.session": "معرّف الجلسة",
  "valueLabel.api_key": "معرّف مفتاح الواجهة",
  "valueLabel.attribute": "قيمة السمة",
  attributeKey: "مفتاح السمة",
  scopeService: "الخدمة (اختياري)",
  anyService: "أي خدمة",
  scopeModel: "النموذج (اختياري)",
  period: "الفترة",
  limit: "الحد",
  thresholds: "التنبيه عند (٪ من الحد)",
  thresholdsHint: "مفصولة بفواصل، مثل 50, 80, 100", // typed into the field as shown: Western digits
  action: "عند بلوغ الحد",
  create: "إنشاء الميزانية",
  creating: "جارٍ الإنشاء…",
  cancel: "إلغاء",
  delete: "حذف",
  confirmDelete: "أتحذف هذه الميزانية؟",
  confirmDeleteYes: "نعم، احذفها",
  spent: "المُنفَق",
  reserved: "المحجوز",
  remaining: "المتبقي",
  ofLimit: "من الحد",
  projected: "المتوقع بنهاية الفترة",
  runsOut: "تنفد في",
  unpricedOps: "بلا سعر",
  unpricedHint: "عمليات تكلفتها مجهولة: تُعدّ ولا تُحسب أبدًا بصفر",
  alertAt: "تنبيه عند",
  "period.day": "يومية",
  "period.week": "أسبوعية",
  "period.month": "شهرية",
  "period.lifetime": "بلا مدة",
  "action.notify": "تنبيه",
  "action.block": "منع",
  "actionHint.notify": "تنبيهات فقط",
  "actionHint.block": "تُرفض الطلبات التي تتجاوز الحد",
  "scope.tenant": "كل الاستخدام",
  "scope.user": "المستخدم",
  "scope.session": "الجلسة",
  "scope.api_key": "مفتاح الواجهة",
  "scope.attribute": "السمة",
  "scope.service": "الخدمة",
  "scope.model": "النموذج",
  alerts: "التنبيهات",
  noAlerts: "لا توجد تنبيهات بعد",
  live: "مباشر",
  newAlert: "جديد",
  budget: "الميزانية",
  "alertKind.budget.threshold": "عتبة",
  "alertKind.budget.forecast": "توقّع",
  remainingBudget: "المتبقي من الميزانية",
  of: "من",
  overBudget: "تجاوز الميزانية",
  listSeparator: "، ", // a middle dot between Arabic digits reads as a zero (٠)
  "alertTitle.budget.threshold": "بلغت «{name}» {threshold} من حدّها البالغ {limit}، وأُنفق {spent}",
  "alertTitle.budget.forecast": "ستنفد «{name}» في {date} بهذا المعدل (الحد {limit})",
  ...statementsAr,
  ...usageAr,
  ...insightsAr,
  ...keysAr,
};

export const messages: Record<Locale, Record<MessageKey, string>> = { en, ar };

export function direction(locale: Locale): "ltr" | "rtl" {
  return locale === "ar" ? "rtl" : "ltr";
}

export type Translate = (key: MessageKey | string) => string;

export function translator(locale: Locale): Translate {
  return (key) => (messages[locale] as Record<string, string>)[key] ?? key;
}

export function formatTime(iso: string | null, locale: Locale): string {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(locale === "ar" ? "ar-EG" : "en-GB", {
    dateStyle: "medium",
    timeStyle: "medium",
  }).format(new Date(iso));
}

/** A message with its {placeholders} filled in. */
export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
}

/** A calendar date in UTC, where budget periods begin and end. */
export function formatDate(iso: string, locale: Locale): string {
  return new Intl.DateTimeFormat(locale === "ar" ? "ar-EG" : "en-GB", { dateStyle: "medium", timeZone: "UTC" })
    .format(new Date(iso));
}

/** A budget period: "1 Jun 2026 – 30 Jun 2026" (its end is exclusive), one date for a day, "Lifetime" without end. */
/** "2026-12" as "December 2026" / "ديسمبر ٢٠٢٦". */
export function formatMonth(month: string, locale: Locale): string {
  return new Intl.DateTimeFormat(locale === "ar" ? "ar-EG" : "en-US", { year: "numeric", month: "long", timeZone: "UTC" })
    .format(Date.parse(`${month}-01T00:00:00Z`));
}

export function formatPeriod(start: string, end: string | null, locale: Locale): string {
  if (!end) return translator(locale)("period.lifetime");
  const first = formatDate(start, locale);
  const last = formatDate(new Date(Date.parse(end) - 1).toISOString(), locale);
  return first === last ? first : `${first} – ${last}`;
}

/** 48.5 -> "48.5%" ("٤٨٫٥٪" in Arabic). */
export function formatPercent(value: number, locale: Locale): string {
  return new Intl.NumberFormat(locale === "ar" ? "ar-EG" : "en-US", { style: "percent", maximumFractionDigits: 1 })
    .format(value / 100);
}

export function formatCount(value: number, locale: Locale): string {
  return new Intl.NumberFormat(locale === "ar" ? "ar-EG" : "en-US").format(value);
}

/** The plural categories each language's messages give ("count.x.one", "count.x.other", …). */
export function pluralCategories(locale: Locale): string[] {
  return new Intl.PluralRules(locale).resolvedOptions().pluralCategories;
}

/**
 * "1 token", "2 tokens"; in Arabic "رمز واحد", "رمزان", "٣ رموز": the count's plural form of
 * `key`, with the count written in the page's digits (or as `shown`, e.g. "2.5" exactly).
 */
export function plural(key: string, count: number, locale: Locale, shown?: string): string {
  const table = messages[locale] as Record<string, string>;
  const category = new Intl.PluralRules(locale).select(count);
  const template = table[`${key}.${category}`] ?? table[`${key}.other`] ?? key;
  return fill(template, { n: shown ?? formatCount(count, locale) });
}

/**
 * A price component for people: "cached audio input", "second at 1080p". A variant after
 * "@" (a resolution) is named after its base component.
 */
export function componentLabel(component: string, t: Translate): string {
  const [base, variant] = component.split("@", 2);
  const name = t(`component.${base}`);
  return variant ? `${name} ${fill(t("resolution"), { resolution: variant })}` : name;
}

/** Seconds as "1 min 20 s" / "8 s"; the value is a decimal string. */
export function formatDuration(seconds: string, locale: Locale): string {
  const total = Number(seconds);
  const minutes = Math.floor(total / 60);
  const rest = Math.round((total - minutes * 60) * 10) / 10;
  const [m, s] = locale === "ar" ? ["د", "ث"] : ["min", "s"];
  return minutes ? `${formatCount(minutes, locale)} ${m} ${formatCount(rest, locale)} ${s}` : `${formatCount(rest, locale)} ${s}`;
}

/** "gemini-2.5-flash" -> "Gemini 2.5 Flash". */
export function modelName(model: string): string {
  return model
    .split("-")
    .map((word) => (word ? word[0].toUpperCase() + word.slice(1) : word))
    .join(" ");
}
