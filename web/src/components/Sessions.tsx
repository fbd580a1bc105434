import { useEffect, useMemo, useState } from "react";

import type { ApiClient, Session } from "../api";
import { formatTime, type Locale, type Translate } from "../i18n";

/** Whether a session matches what was typed: its id, user or a label key or value, case-insensitively. */
export function sessionMatches(session: Session, query: string): boolean {
  const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const haystack = [session.session_id, session.user_id ?? "", ...Object.entries(session.labels).flat()]
    .join(" ").toLowerCase();
  return words.every((word) => haystack.includes(word));
}

/**
 * The tenant's sessions, newest first, with a search box: choosing one opens it in the
 * tracker (no ids to paste). Read again whenever `refreshKey` changes (a session started or ended).
 */
export function SessionPicker({ api, selected, onSelect, refreshKey, locale, t }: {
  api: ApiClient; selected: string; onSelect: (sessionId: string) => void; refreshKey: unknown;
  locale: Locale; t: Translate;
}) {
  const [sessions, setSessions] = useState<Session[] | null>(null);
  const [query, setQuery] = useState("");

  useEffect(() => {
    let cancelled = false;
    api.sessions().then((list) => !cancelled && setSessions(list)).catch(() => !cancelled && setSessions([]));
    return () => { cancelled = true; };
  }, [api, refreshKey]);

  const shown = useMemo(() => (sessions ?? []).filter((s) => sessionMatches(s, query)), [sessions, query]);
  return (
    <div className="sessions" data-testid="session-picker">
      <label className="sessions__search">
        <span className="sr-only">{t("searchSessions")}</span>
        <input type="search" value={query} onChange={(e) => setQuery(e.target.value)} placeholder={t("searchSessions")}
               data-testid="session-search" />
      </label>
      {sessions !== null && sessions.length === 0 && <p className="muted">{t("noSessions")}</p>}
      {sessions !== null && sessions.length > 0 && shown.length === 0 && <p className="muted">{t("noSessionMatch")}</p>}
      {shown.length > 0 && (
        <ul className="sessions__list" role="listbox" aria-label={t("chooseSession")}>
          {shown.slice(0, 50).map((s) => (
            <li key={s.session_id} role="option" aria-selected={s.session_id === selected}>
              <button type="button" className={s.session_id === selected ? "session session--on" : "session"}
                      data-testid="session-option" data-session-id={s.session_id} onClick={() => onSelect(s.session_id)}>
                <span className={`session__status session__status--${s.status}`}>
                  {s.status === "active" ? t("active") : t("ended")}
                </span>
                <bdi className="session__id">{s.session_id}</bdi>
                {s.user_id && <bdi className="session__user">{s.user_id}</bdi>}
                {Object.entries(s.labels).map(([k, v]) => <bdi key={k} className="session__label">{k}={v}</bdi>)}
                <span className="muted session__when">{formatTime(s.started_at, locale)}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
