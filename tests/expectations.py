"""Ground truth for end-to-end tests: costs worked out from what was sent, with list prices
written out here, independently of meterstream's pricing code."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from meterstream.schemas import CharacterUsage, ImageUsage, TokenUsage, UsageEvent, VideoUsage

M = Decimal(1_000_000)
# USD list prices (ai.google.dev/gemini-api/docs/pricing, cloud.google.com/text-to-speech/pricing).
TOKEN_PRICES = {  # input, cached input, output (incl. thinking) per 1M tokens
    "gemini-2.5-flash": (Decimal("0.30"), Decimal("0.03"), Decimal("2.50")),
    "gemini-2.5-pro": (Decimal("1.25"), Decimal("0.125"), Decimal("10.00")),
}
IMAGE_PRICES = {"imagen-4.0-generate": Decimal("0.04"), "imagen-4.0-fast-generate": Decimal("0.02")}
VIDEO_PRICES = {  # per second: with audio, without
    "veo-3.0-generate": (Decimal("0.40"), Decimal("0.20")),
    "veo-3.0-fast-generate": (Decimal("0.15"), Decimal("0.10")),
}
CHARACTER_PRICES = {"cloud-tts-chirp3-hd": Decimal("30") / M}


def expected_cost(event: UsageEvent) -> Decimal:
    usage = event.usage
    if isinstance(usage, TokenUsage):
        rate_in, rate_cached, rate_out = TOKEN_PRICES[event.model]
        uncached = usage.input_tokens - usage.cached_input_tokens
        return (uncached * rate_in + usage.cached_input_tokens * rate_cached
                + (usage.output_tokens + usage.thinking_tokens) * rate_out) / M
    if isinstance(usage, ImageUsage):
        return usage.images * IMAGE_PRICES[event.model]
    if isinstance(usage, VideoUsage):
        with_audio, without = VIDEO_PRICES[event.model]
        return usage.seconds * (with_audio if usage.with_audio else without)
    if isinstance(usage, CharacterUsage):
        return usage.characters * CHARACTER_PRICES[event.model]
    raise AssertionError(usage)


@dataclass
class SessionExpectation:
    cost: Decimal = Decimal(0)
    operations: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    images: int = 0
    video_seconds: Decimal = Decimal(0)
    characters: int = 0
    services: set[str] = field(default_factory=set)

    def add(self, event: UsageEvent) -> None:
        self.cost += expected_cost(event)
        self.operations += 1
        self.services.add(event.service.value)
        usage = event.usage
        if isinstance(usage, TokenUsage):
            self.input_tokens += usage.input_tokens
            self.output_tokens += usage.output_tokens  # thinking is counted apart (SessionTotals)
        elif isinstance(usage, ImageUsage):
            self.images += usage.images
        elif isinstance(usage, VideoUsage):
            self.video_seconds += usage.seconds
        else:
            self.characters += usage.characters


def expectations(events: Iterable[UsageEvent]) -> dict[str, SessionExpectation]:
    """Per session, counting each event_id once."""
    by_session: dict[str, SessionExpectation] = defaultdict(SessionExpectation)
    seen: set = set()
    for event in events:
        if event.event_id not in seen:
            seen.add(event.event_id)
            by_session[event.session_id].add(event)
    return dict(by_session)


MALFORMED = [
    b'{"tenant_id": "acme-creative", "session_id": "s"',  # truncated JSON
    b"\xff\xfe\x00 not utf-8",
    b'{"tenant_id": "acme-creative", "session_id": "s", "service": "text", "model": "m", '
    b'"usage": {"unit": "tokens", "input_tokens": "lots"}}',
    b'{"tenant_id": "acme-creative", "session_id": "s", "service": "text", "model": "m", '
    b'"usage": {"unit": "parsecs", "n": 1}}',
    b'{"tenant_id": "acme-creative", "session_id": "s", "service": "image", "model": "m", '
    b'"usage": {"unit": "images", "images": -4}}',
    b'{"tenant_id": "acme-creative", "session_id": "s", "service": "image", "model": "m", '
    b'"occurred_at": "2099-01-01T00:00:00Z", "usage": {"unit": "images", "images": 1}}',
    b"[]",
    b"",
    b'{"tenant_id": "acme-creative", "padding": "' + b"x" * 70_000 + b'"}',
]
