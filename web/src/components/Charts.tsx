import { useState } from "react";
import {
  Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis,
} from "recharts";

import type { ReportRow, UsageReport } from "../api";
import { modelName, plural, type Locale, type Translate } from "../i18n";
import { addMoney, formatMoney, localDigits, moneyNumber, moneyTick, trimZeros } from "../money";
import { addUnpriced, unpricedText, type UnpricedQuantities } from "../unpriced";

// Twenty colours that stay apart from each other (Kelly's and Tableau's distinct sets, on a
// white background); past twenty, hues spaced by the golden angle. No two series share one.
const PALETTE = [
  "#4f46e5", "#db2777", "#0891b2", "#16a34a", "#ea580c", "#7c3aed", "#ca8a04", "#0f766e",
  "#dc2626", "#2563eb", "#65a30d", "#c026d3", "#9a3412", "#0e7490", "#a16207", "#475569",
  "#be123c", "#15803d", "#6d28d9", "#b45309",
];

/** The colour of the `index`-th series: distinct for every index. */
export function seriesColor(index: number): string {
  if (index < PALETTE.length) return PALETTE[index];
  const hue = Math.round((index * 137.508) % 360);
  return `hsl(${hue} 65% ${index % 2 ? 38 : 48}%)`;
}

export type Bucket = "hour" | "day";

function bucketLabel(iso: string, bucket: Bucket, locale: Locale): string {
  const options: Intl.DateTimeFormatOptions = bucket === "hour"
    ? { hour: "2-digit", minute: "2-digit" } : { day: "numeric", month: "short", timeZone: "UTC" };
  return new Intl.DateTimeFormat(locale === "ar" ? "ar-EG" : "en-GB", options).format(new Date(iso));
}

/** An axis tick: the amount in the page's digits. */
interface Cell { cost: string; operations: number; unpriced: number; used: UnpricedQuantities }
type Point = Record<string, number | string> & { label: string };

/** Per bucket (hour or day) and series: the exact cost, operations and unpriced operations. */
export function chartData(rows: ReportRow[], bucket: Bucket, split: string, locale: Locale):
  { data: Point[]; series: string[]; cells: Map<string, Map<string, Cell>> } {
  const series = [...new Set(rows.map((r) => r.keys[split]))].sort();
  const cells = new Map<string, Map<string, Cell>>();
  for (const row of rows) {
    const at = row.keys[bucket];
    if (at === undefined) continue; // a report grouped otherwise
    if (!cells.has(at)) cells.set(at, new Map());
    const cell = cells.get(at)!.get(row.keys[split]) ?? { cost: "0", operations: 0, unpriced: 0, used: {} };
    cells.get(at)!.set(row.keys[split], {
      cost: addMoney(cell.cost, row.cost), operations: cell.operations + row.operations,
      unpriced: cell.unpriced + (row.unpriced_operations ?? 0), used: addUnpriced(cell.used, row),
    });
  }
  const data = [...cells.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([at, bySeries]) => {
    const point: Point = { label: bucketLabel(at, bucket, locale), at };
    for (const [name, cell] of bySeries) point[name] = moneyNumber(cell.cost);
    return point;
  });
  return { data, series, cells };
}

/** The tooltip (recharts passes it `active`, `payload` and `label`): each series' exact cost (or its unpriced mark), never $0.00 for unknown cost. */
function CellsTooltip({ active, payload, cells, nameOf, locale }: {
  active?: boolean; payload?: { dataKey?: unknown; color?: string; payload?: Point }[];
  cells: Map<string, Map<string, Cell>>; nameOf: (name: string) => string; locale: Locale;
}) {
  if (!active || !payload?.length) return null;
  const point = payload[0].payload!;
  const bySeries = cells.get(String(point.at)) ?? new Map<string, Cell>();
  return (
    <div className="chart-tooltip" data-testid="chart-tooltip">
      <strong>{point.label}</strong>
      <ul>
        {[...bySeries.entries()].map(([name, cell]) => {
          const color = payload.find((p) => p.dataKey === name)?.color;
          const priced = cell.operations - cell.unpriced;
          return (
            <li key={name}>
              <span className="chart-tooltip__swatch" style={{ background: color }} aria-hidden="true" />
              <span>{nameOf(name)}</span>
              <bdi className="chart-tooltip__value" dir="ltr">
                {priced > 0 ? formatMoney(cell.cost, "USD", locale) : ""}
                {cell.unpriced > 0 && (
                  <span className="ms-unpriced">
                    {unpricedText(cell.unpriced, cell.used, locale)}
                  </span>
                )}
              </bdi>
            </li>
          );
        })}
      </ul>
    </div>
  );
}

function Empty({ t, hasKey }: { t: Translate; hasKey: boolean }) {
  return <p className="chart-empty" data-testid="chart-empty">{hasKey ? t("emptyCharts") : t("emptyKey")}</p>;
}

/** Cost per hour or day, stacked by service or by model (report grouped by the bucket and that key). */
export function CostOverTime({ byService, byModel, bucket, hasKey, locale, t }: {
  byService: UsageReport | null; byModel: UsageReport | null; bucket: Bucket; hasKey: boolean;
  locale: Locale; t: Translate;
}) {
  const [split, setSplit] = useState<"service" | "model">("service");
  const report = split === "service" ? byService : byModel;
  const rows = report?.current.rows ?? [];
  const { data, series, cells } = chartData(rows, bucket, split, locale);
  const label = (name: string) => (split === "service" ? t(`service.${name}`) : modelName(name));
  const rtl = locale === "ar";
  return (
    <div className="chart" data-testid="chart-cost-over-time" data-series={series.length}>
      <div className="chart__controls" role="tablist">
        {(["service", "model"] as const).map((key) => (
          <button key={key} type="button" role="tab" aria-selected={split === key} data-testid={`split-${key}`}
                  className={split === key ? "chip chip--on" : "chip"} onClick={() => setSplit(key)}>
            {key === "service" ? t("perService") : t("perModel")}
          </button>
        ))}
      </div>
      {data.length === 0 ? <Empty t={t} hasKey={hasKey} /> : (
        <>
        <ResponsiveContainer width="100%" height={260}>
          <BarChart data={data} margin={{ top: 8, right: 12, left: 12, bottom: 4 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="label" reversed={rtl} />
            <YAxis orientation={rtl ? "right" : "left"} tickFormatter={moneyTick(locale)} width={80} />
            <Tooltip content={<CellsTooltip cells={cells} nameOf={label} locale={locale} />}
                     wrapperStyle={{ zIndex: 10 }} allowEscapeViewBox={{ x: false, y: true }} />
            {series.map((name, i) => (
              <Bar key={name} dataKey={name} stackId="cost" fill={seriesColor(i)} isAnimationActive={false} />
            ))}
          </BarChart>
        </ResponsiveContainer>
        {/* The legend below the plot, in the page's flow: as many series as there are, it never
            shrinks the plot nor lies over the tooltip. */}
        <ul className="chart-legend" data-testid="chart-legend">
          {series.map((name, i) => (
            <li key={name} data-series={name} data-color={seriesColor(i)}>
              <span className="chart-legend__swatch" style={{ background: seriesColor(i) }} aria-hidden="true" />
              {label(name)}
            </li>
          ))}
        </ul>
        </>
      )}
    </div>
  );
}

/** Cost per service: this period's bar beside the previous period's, unpriced operations marked. */
export function PeriodComparison({ report, hasKey, locale, t }: {
  report: UsageReport | null; hasKey: boolean; locale: Locale; t: Translate;
}) {
  // Bars are drawn from numbers; the tooltip shows the exact sums beside them.
  const services = new Map<string, { service: string; current: number; previous: number;
    exact: { current: string; previous: string } }>();
  const take = (rows: ReportRow[], field: "current" | "previous") => {
    for (const row of rows) {
      const name = row.keys.service;
      if (!services.has(name)) {
        services.set(name, { service: t(`service.${name}`), current: 0, previous: 0, exact: { current: "0", previous: "0" } });
      }
      const entry = services.get(name)!;
      entry.exact[field] = addMoney(entry.exact[field], row.cost);
      entry[field] = moneyNumber(entry.exact[field]);
    }
  };
  take(report?.current.rows ?? [], "current");
  take(report?.previous?.rows ?? [], "previous");
  const rtl = locale === "ar";
  const change = report?.change[0];
  const unpriced = Object.values(report?.current.totals ?? {}).reduce((n, m) => n + (m.unpriced_operations ?? 0), 0);
  if (services.size === 0) {
    return <div className="chart" data-testid="chart-period-comparison"><Empty t={t} hasKey={hasKey} /></div>;
  }
  return (
    <div className="chart" data-testid="chart-period-comparison">
      {change && (
        <p className="muted">
          <bdi dir="ltr">{formatMoney(change.cost.replace(/^-/, ""), change.currency, locale)}</bdi>{" "}
          {change.cost.startsWith("-") ? "▼" : "▲"}
          {change.cost_ratio ? <bdi>{` (×${localDigits(trimZeros(change.cost_ratio), locale)})`}</bdi> : ""}
          {unpriced > 0 && <>{" "}<span className="ms-unpriced">{plural("count.unpriced", unpriced, locale)}</span></>}
        </p>
      )}
      <ResponsiveContainer width="100%" height={240}>
        <BarChart data={[...services.values()]} margin={{ top: 8, right: 12, left: 12, bottom: 4 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="service" reversed={rtl} />
          <YAxis orientation={rtl ? "right" : "left"} tickFormatter={moneyTick(locale)} width={80} />
          <Tooltip wrapperStyle={{ zIndex: 10 }} formatter={(_value, _name, item) =>
            formatMoney((item.payload as { exact: Record<string, string> }).exact[String(item.dataKey)], "USD", locale)} />
          <Legend verticalAlign="bottom" />
          <Bar dataKey="previous" name={t("previousPeriod")} fill="#c4b5fd" isAnimationActive={false} />
          <Bar dataKey="current" name={t("thisPeriod")} fill="#4f46e5" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
