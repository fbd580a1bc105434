import { useState } from "react";
import {
  Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis,
} from "recharts";

import type { UsageReport } from "../api";
import { modelName, type Locale, type Translate } from "../i18n";
import { formatMoney, moneyNumber } from "../money";

const COLORS = ["#4f46e5", "#db2777", "#0891b2", "#16a34a", "#ea580c", "#7c3aed", "#ca8a04", "#0f766e"];

function hourLabel(iso: string, locale: Locale): string {
  return new Intl.DateTimeFormat(locale === "ar" ? "ar-EG" : "en-GB", { hour: "2-digit", minute: "2-digit" })
    .format(new Date(iso));
}

/** Cost per hour, stacked by service or by model (report grouped by hour and that key). */
export function CostOverTime({ byService, byModel, locale, t }: {
  byService: UsageReport | null; byModel: UsageReport | null; locale: Locale; t: Translate;
}) {
  const [split, setSplit] = useState<"service" | "model">("service");
  const report = split === "service" ? byService : byModel;
  const rows = report?.current.rows ?? [];
  const series = [...new Set(rows.map((r) => r.keys[split]))].sort();
  const hours = new Map<string, Record<string, number | string>>();
  for (const row of rows) {
    const hour = row.keys.hour;
    if (!hours.has(hour)) hours.set(hour, { hour: hourLabel(hour, locale) });
    hours.get(hour)![row.keys[split]] = moneyNumber(row.cost);
  }
  const data = [...hours.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, v]) => v);
  const label = (name: string) => (split === "service" ? t(`service.${name}`) : modelName(name));
  const rtl = locale === "ar";
  return (
    <div className="chart" data-testid="chart-cost-over-time">
      <div className="chart__controls" role="tablist">
        {(["service", "model"] as const).map((key) => (
          <button key={key} type="button" role="tab" aria-selected={split === key}
                  className={split === key ? "chip chip--on" : "chip"} onClick={() => setSplit(key)}>
            {key === "service" ? t("perService") : t("perModel")}
          </button>
        ))}
      </div>
      <ResponsiveContainer width="100%" height={260}>
        <BarChart data={data} margin={{ top: 8, right: 12, left: 12, bottom: 4 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="hour" reversed={rtl} />
          <YAxis orientation={rtl ? "right" : "left"} tickFormatter={(v: number) => `$${v}`} width={70} />
          <Tooltip formatter={(value, name) => [formatMoney(String(value)), label(String(name))]} />
          <Legend formatter={(name) => label(String(name))} />
          {series.map((name, i) => (
            <Bar key={name} dataKey={name} stackId="cost" fill={COLORS[i % COLORS.length]} isAnimationActive={false} />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

/** Cost per service: this period's bar beside the previous period's. */
export function PeriodComparison({ report, locale, t }: { report: UsageReport | null; locale: Locale; t: Translate }) {
  const services = new Map<string, { service: string; current: number; previous: number }>();
  const take = (rows: UsageReport["current"]["rows"], field: "current" | "previous") => {
    for (const row of rows) {
      const name = row.keys.service;
      if (!services.has(name)) services.set(name, { service: t(`service.${name}`), current: 0, previous: 0 });
      services.get(name)![field] += moneyNumber(row.cost);
    }
  };
  take(report?.current.rows ?? [], "current");
  take(report?.previous?.rows ?? [], "previous");
  const rtl = locale === "ar";
  const change = report?.change[0];
  return (
    <div className="chart" data-testid="chart-period-comparison">
      {change && (
        <p className="muted">
          <bdi>{formatMoney(change.cost.replace(/^-/, ""))}</bdi> {change.cost.startsWith("-") ? "▼" : "▲"}
          {change.cost_ratio ? ` (×${change.cost_ratio})` : ""}
        </p>
      )}
      <ResponsiveContainer width="100%" height={240}>
        <BarChart data={[...services.values()]} margin={{ top: 8, right: 12, left: 12, bottom: 4 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="service" reversed={rtl} />
          <YAxis orientation={rtl ? "right" : "left"} tickFormatter={(v: number) => `$${v}`} width={70} />
          <Tooltip formatter={(value) => formatMoney(String(value))} />
          <Legend />
          <Bar dataKey="previous" name={t("previousPeriod")} fill="#c4b5fd" isAnimationActive={false} />
          <Bar dataKey="current" name={t("thisPeriod")} fill="#4f46e5" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
