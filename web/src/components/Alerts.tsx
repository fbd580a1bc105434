import { alertHeadline } from "../alerts/headline";
import type { AlertFeed } from "../alerts/useAlerts";
import { formatTime, type Locale, type Translate } from "../i18n";

/** The tenant's alerts, newest first; one just pushed is highlighted for a moment. */
export function AlertsFeed({ feed, locale, t }: { feed: AlertFeed; locale: Locale; t: Translate }) {
  return (
    <section className="panel" data-testid="alerts-panel">
      <h2 className="alerts__heading">
        {t("alerts")}
        <span className={`live${feed.connected ? " live--on" : ""}`} data-testid="alerts-live">
          <span className="live__dot" aria-hidden="true" />{feed.connected ? t("live") : t("connecting")}
        </span>
      </h2>
      {feed.alerts.length === 0 ? (
        <p className="muted">{t("noAlerts")}</p>
      ) : (
        <ul className="alerts" data-testid="alerts">
          {feed.alerts.map((alert) => {
            const fresh = feed.fresh.has(alert.alert_id);
            const budget = alert.budget;
            return (
              <li key={alert.alert_id} className={`alert alert--${alert.kind.replace(".", "-")}${fresh ? " alert--fresh" : ""}`}
                  data-testid="alert" data-alert-id={alert.alert_id} data-kind={alert.kind}
                  data-budget-id={budget?.budget_id} data-threshold={budget?.threshold ?? undefined}
                  data-arrived={feed.pushed.has(alert.alert_id) ? "push" : "list"}>
                <span className="alert__kind">{t(`alertKind.${alert.kind}`)}</span>
                <div className="alert__body">
                  <span className="alert__title" title={alert.title}>{alertHeadline(alert, locale, t)}</span>
                  {budget && (
                    <span className="alert__budget">
                      {t("budget")}: <bdi>{budget.name}</bdi>{t("listSeparator")}{t(`action.${budget.action}`)}
                    </span>
                  )}
                  <time className="muted" dateTime={alert.raised_at}>{formatTime(alert.raised_at, locale)}</time>
                </div>
                {fresh && <span className="alert__new">{t("newAlert")}</span>}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
