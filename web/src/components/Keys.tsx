import { useCallback, useEffect, useState } from "react";

import type { ApiClient, ApiKeyRecord, CreatedKey } from "../api";
import { formatTime, type Locale, type Translate } from "../i18n";
import { EMPTY_KEY_DRAFT, keyBody, keyErrors, type KeyDraft, type KeyErrors, type KeyField } from "../keys/form";
import { HttpError } from "../sse";

/**
 * The tenant's API keys: the list (created, expiry, revoked), revoking one after a
 * confirmation, and a form for a new one whose full key is shown once, with a copy button.
 */
export function KeysPanel({ api, locale, t }: { api: ApiClient; locale: Locale; t: Translate }) {
  const [keys, setKeys] = useState<ApiKeyRecord[] | null>(null);
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      setKeys(await api.keys());
      setError(null);
    } catch (e) {
      setError(String(e));
    }
  }, [api]);
  useEffect(() => { load(); }, [load]);

  async function revoke(key: ApiKeyRecord) {
    try {
      const revoked = await api.revokeKey(key.key_id);
      setKeys((list) => list?.map((k) => (k.key_id === revoked.key_id ? revoked : k)) ?? null);
      setError(null);
    } catch (e) {
      setError(String(e));
    }
  }

  return (
    <main className="grid grid--keys">
      <div className="col">
        <section className="panel" data-testid="keys">
          <h2>{t("keys.title")}</h2>
          <p className="muted">{t("keys.intro")}</p>
          {error && <p className="notice notice--error" role="alert">{t("error")}: {error}</p>}
          {keys && keys.length === 0 && <p className="muted">{t("keys.none")}</p>}
          <ul className="keys">
            {keys?.map((key) => (
              <KeyRow key={key.key_id} record={key} locale={locale} t={t} onRevoke={() => revoke(key)} />
            ))}
          </ul>
        </section>
      </div>
      <div className="col">
        <section className="panel" data-testid="key-new">
          <h2>{t("keys.new")}</h2>
          {created ? (
            <NewKey created={created} t={t} onDone={() => setCreated(null)} />
          ) : (
            <KeyForm api={api} t={t} onCreated={(key) => { setCreated(key); load(); }} />
          )}
        </section>
      </div>
    </main>
  );
}

function KeyRow({ record, locale, t, onRevoke }: {
  record: ApiKeyRecord; locale: Locale; t: Translate; onRevoke: () => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const when = (iso: string) => <bdi>{formatTime(iso, locale)}</bdi>;
  return (
    <li className={`key key--${record.status}`} data-testid="key" data-key-id={record.key_id}
        data-status={record.status} data-current={record.current}>
      <div className="key__head">
        <strong className="key__name"><bdi>{record.name || record.key_id}</bdi></strong>
        <span className={`pill pill--key-${record.status}`} data-testid="key-status">{t(`keys.status.${record.status}`)}</span>
        {record.current && <span className="pill pill--current" data-testid="key-current">{t("keys.current")}</span>}
      </div>
      <code className="key__id" dir="ltr">{record.key_id}</code>
      <p className="muted key__dates" data-testid="key-dates">
        <span>{t("keys.created")} {when(record.created_at)}</span>
        <span data-testid="key-expiry">
          {record.expires_at === null ? t("keys.noExpiry")
            : <>{t(record.status === "expired" ? "keys.expired" : "keys.expires")} {when(record.expires_at)}</>}
        </span>
        {record.revoked_at && <span data-testid="key-revoked">{t("keys.revokedAt")} {when(record.revoked_at)}</span>}
      </p>
      {record.status !== "revoked" && (
        <div className="key__actions">
          {confirming ? (
            <>
              <span role="alert">{t("keys.confirmRevoke")}{record.current && <> {t("keys.confirmRevokeCurrent")}</>}</span>
              <button type="button" className="danger" onClick={onRevoke} data-testid="key-revoke-confirm">
                {t("keys.confirmRevokeYes")}
              </button>
              <button type="button" className="secondary" onClick={() => setConfirming(false)}>{t("cancel")}</button>
            </>
          ) : (
            <button type="button" className="secondary" onClick={() => setConfirming(true)} data-testid="key-revoke">
              {t("keys.revoke")}
            </button>
          )}
        </div>
      )}
    </li>
  );
}

function KeyForm({ api, t, onCreated }: { api: ApiClient; t: Translate; onCreated: (key: CreatedKey) => void }) {
  const [draft, setDraft] = useState<KeyDraft>(EMPTY_KEY_DRAFT);
  const [errors, setErrors] = useState<KeyErrors>({});
  const [busy, setBusy] = useState(false);
  const set = (field: KeyField) => (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [field]: e.target.value }));

  async function submit() {
    setBusy(true);
    try {
      const key = await api.createKey(keyBody(draft));
      setDraft(EMPTY_KEY_DRAFT);
      setErrors({});
      onCreated(key);
    } catch (e) {
      const problem = e instanceof HttpError ? e.problem : null;
      setErrors(problem ? keyErrors(problem) : { form: String(e) });
    } finally {
      setBusy(false);
    }
  }

  const error = (name: KeyField) => errors[name] && (
    <span className="field__error" role="alert" data-testid={`key-error-${name}`}>{errors[name]}</span>
  );
  return (
    <form className="key-form" data-testid="key-form" noValidate onSubmit={(e) => { e.preventDefault(); submit(); }}>
      <label className={`field${errors.name ? " field--invalid" : ""}`} data-field="name">
        <span className="field__label">{t("keys.name")}</span>
        <input value={draft.name} onChange={set("name")} maxLength={128} name="name" placeholder={t("keys.namePlaceholder")} />
        {error("name")}
      </label>
      <label className={`field${errors.days ? " field--invalid" : ""}`} data-field="days">
        <span className="field__label">{t("keys.days")}</span>
        <input value={draft.days} onChange={set("days")} inputMode="numeric" dir="ltr" name="days" placeholder="90" />
        {errors.days ? error("days") : <span className="field__hint">{t("keys.daysHint")}</span>}
      </label>
      {errors.form && <p className="notice notice--error" role="alert" data-testid="key-error-form">{errors.form}</p>}
      <button type="submit" disabled={busy} data-testid="key-create">{busy ? t("keys.creating") : t("keys.create")}</button>
    </form>
  );
}

/** The new key, this once: copy it, then say it is stored (it leaves the page). */
function NewKey({ created, t, onDone }: { created: CreatedKey; t: Translate; onDone: () => void }) {
  const [copy, setCopy] = useState<"idle" | "copied" | "failed">("idle");
  async function copyKey() {
    try {
      await navigator.clipboard.writeText(created.key);
      setCopy("copied");
    } catch {
      setCopy("failed");
    }
  }
  return (
    <div className="key-secret" data-testid="key-secret-box" data-key-id={created.key_id}>
      <h3><bdi>{t("keys.secretTitle")}: {created.name}</bdi></h3>
      <p className="key-secret__warning" role="alert" data-testid="key-secret-warning">{t("keys.secretOnce")}</p>
      <code className="key-secret__value" dir="ltr" data-testid="key-secret">{created.key}</code>
      <div className="key-secret__buttons">
        <button type="button" onClick={copyKey} data-testid="key-copy" data-copied={copy}>
          {copy === "copied" ? t("keys.copied") : t("keys.copy")}
        </button>
        <button type="button" className="secondary" onClick={onDone} data-testid="key-done">{t("keys.done")}</button>
      </div>
      {copy === "failed" && <p className="muted" role="alert">{t("keys.copyFailed")}</p>}
    </div>
  );
}
