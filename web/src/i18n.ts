// English and Arabic. Arabic pages are laid out right to left (see `direction`).

import { statementsAr, statementsEn } from "./statements.i18n";

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
  costOverTime: "Cost over time (last 24 h)",
  perService: "Per service",
  perModel: "Per model",
  periodComparison: "This week against the previous week",
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
  "component.image": "image",
  "component.second": "second",
  "component.second_with_audio": "second with audio",
  "component.character": "character",
  ...statementsEn,
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
  costOverTime: "التكلفة عبر الزمن (آخر 24 ساعة)",
  perService: "حسب الخدمة",
  perModel: "حسب النموذج",
  periodComparison: "هذا الأسبوع مقارنة بالأسبوع السابق",
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
  "component.image": "صورة",
  "component.second": "ثانية",
  "component.second_with_audio": "ثانية مع صوت",
  "component.character": "حرف",
  ...statementsAr,
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

export function formatCount(value: number, locale: Locale): string {
  return new Intl.NumberFormat(locale === "ar" ? "ar-EG" : "en-US").format(value);
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
