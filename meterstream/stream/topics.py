"""The topics the pipeline uses, with their configuration: one place for names and settings."""

from __future__ import annotations

from meterstream.settings import Settings


# About 60,000 open holds of one tenant.
BUDGET_ENTRY_MAX_BYTES = 16 * 1024 * 1024
SPEND_COMMAND_MAX_BYTES = 16 * 1024 * 1024  # uncompressed: what the worker's producer lets through


def budget_owner_id(settings: Settings) -> str:
    """The budget owners' consumer group (budgets/owner.py); once a Faust app id, so the
    offsets it committed carry over."""
    return f"{settings.app_id}-budgets"


def changelog_topic(settings: Settings, table: str) -> str:
    return f"{settings.app_id}-{table}-changelog"


def seen_events_changelog_config(settings: Settings) -> dict[str, str]:
    """De-duplication ids expire after the window, never before it.

    The worker sends a tombstone for each id past the window (stream/expiry.py); compaction
    then drops the id's value and, `delete.retention.ms` later, the tombstone. A restore that
    read the value but comes to the tombstone only after that brings back an expired id,
    which is harmless: it recognises nothing (it is past the window) and the worker deletes
    it again. Deletion by `retention.ms` is the backstop for ids whose tombstone a crash
    lost. Compaction never drops the latest value of a key, so a live id is never lost to it
    and `min.compaction.lag.ms` stays 0. A segment is compacted or deleted only once closed:
    segments of at most a day (the default is a week) keep the changelog near the window.
    """
    window_ms = max(1, round(settings.dedup_window_days * 86_400_000))
    return {
        "cleanup.policy": "compact,delete",
        "retention.ms": str(window_ms),
        "delete.retention.ms": str(window_ms),
        "segment.ms": str(min(window_ms, 86_400_000)),
    }


def budget_changelog_config() -> dict[str, str]:
    """The budget owner reads its partitions' changelog from the start whenever it is handed
    them (budgets/owner.py): small segments keep the uncompacted head that it reads short. A
    hold's record counts only once a later tenant entry confirms it (budgets/store.py), so
    compaction must not drop a hold's confirmed record for an unconfirmed newer one before a
    restarted owner has rewritten it (seconds; the lag allows minutes). A tenant entry may
    pass 1 MB."""
    return {"cleanup.policy": "compact", "max.message.bytes": str(BUDGET_ENTRY_MAX_BYTES),
            "segment.bytes": str(64 * 1024 * 1024), "segment.ms": str(3_600_000),
            "min.compaction.lag.ms": str(600_000)}


def pipeline_topics(settings: Settings) -> dict[str, dict[str, str]]:
    """Every topic, with its configuration; all have settings.topic_partitions partitions."""
    compacted = {"cleanup.policy": "compact"}
    return {
        settings.topic_events: {},
        settings.topic_priced: {},
        settings.topic_dlq: {},
        settings.topic_routed: {},
        settings.topic_budget_commands: {},
        settings.topic_budget_replies: {"retention.ms": str(3_600_000)},  # answers matter for seconds
        settings.topic_alerts: {},
        settings.topic_api_keys: compacted,
        settings.topic_sessions: compacted,
        settings.topic_webhooks: compacted,
        changelog_topic(settings, "budgets"): budget_changelog_config(),
        changelog_topic(settings, "sessions"): compacted,
        changelog_topic(settings, "ledger"): compacted,
        changelog_topic(settings, "positions"): compacted,
        changelog_topic(settings, "seen-events"): seen_events_changelog_config(settings),
    }
