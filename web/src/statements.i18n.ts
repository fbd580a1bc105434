// The Statements view's messages, English and Arabic; merged into i18n.ts's tables.

export const statementsEn = {
  statements: "Statements",
  "statements.month": "Month",
  "statements.attribute": "By attribute (e.g. customer)",
  "statements.show": "Show",
  "statements.none": "No statements for this month",
  "statements.tenant": "Whole account",
  "statements.open": "Open",
  "statements.closed": "Closed",
  "statements.events": "Events",
  "statements.total": "Total",
  "statements.adjustments": "Adjustments for",
  "statements.unpriced": "Unpriced",
  "statements.download": "Download",
  "statements.close": "Close month",
  "statements.closesAt": "Closes",
};

export const statementsAr: Record<keyof typeof statementsEn, string> = {
  statements: "الكشوفات",
  "statements.month": "الشهر",
  "statements.attribute": "حسب السمة (مثل customer)",
  "statements.show": "عرض",
  "statements.none": "لا توجد كشوفات لهذا الشهر",
  "statements.tenant": "الحساب كله",
  "statements.open": "مفتوح",
  "statements.closed": "مغلق",
  "statements.events": "العمليات",
  "statements.total": "الإجمالي",
  "statements.adjustments": "تسويات عن",
  "statements.unpriced": "غير مسعّر",
  "statements.download": "تنزيل",
  "statements.close": "إغلاق الشهر",
  "statements.closesAt": "يُغلق في",
};
