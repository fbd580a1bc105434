"""A realistic, reproducible workload: a creative-AI studio's users making ad campaigns.

Each session writes ad copy and a script with Gemini, generates images with Imagen,
videos with Veo and voice-overs with text-to-speech. Used by the demo and the tests.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from meterstream.schemas import CharacterUsage, ImageUsage, Service, TokenUsage, UsageEvent, VideoUsage

USERS = ("amira", "bilal", "chen", "dana", "emeka", "farah", "gustavo", "hana")


def _text_step(rng: random.Random, model: str, operation: str, thinking: bool) -> dict[str, Any]:
    prompt = rng.randint(400, 6000)
    return {
        "service": Service.TEXT, "operation": operation, "model": model,
        "usage": TokenUsage(
            input_tokens=prompt,
            cached_input_tokens=rng.choice((0, 0, prompt // 4)),
            output_tokens=rng.randint(150, 1800),
            thinking_tokens=rng.randint(200, 3000) if thinking else 0,
        ),
    }


def _steps(rng: random.Random) -> list[dict[str, Any]]:
    steps = [_text_step(rng, "gemini-2.5-flash", "write_ad_copy", thinking=False)]
    if rng.random() < 0.7:
        steps.append(_text_step(rng, "gemini-2.5-pro", "write_script", thinking=True))
    steps.append({"service": Service.IMAGE, "operation": "generate_images",
                  "model": rng.choice(("imagen-4.0-generate", "imagen-4.0-fast-generate")),
                  "usage": ImageUsage(images=rng.randint(1, 4))})
    if rng.random() < 0.35:
        steps.append({"service": Service.VIDEO, "operation": "generate_video",
                      "model": rng.choice(("veo-3.0-generate", "veo-3.0-fast-generate")),
                      "usage": VideoUsage(seconds=Decimal(rng.choice((4, 6, 8))), with_audio=rng.random() < 0.8)})
    if rng.random() < 0.6:
        steps.append({"service": Service.SPEECH, "operation": "voice_over", "model": "cloud-tts-chirp3-hd",
                      "usage": CharacterUsage(characters=rng.randint(200, 2500), voice_tier="chirp3-hd")})
    return steps


def studio_workload(
    events: int,
    sessions: int = 20,
    tenant_id: str = "acme-creative",
    seed: int = 7,
    start: datetime | None = None,
    session_prefix: str = "",
) -> Iterator[UsageEvent]:
    """Yield `events` usage events spread round-robin over `sessions` sessions."""
    rng = random.Random(seed)
    # Steps are 5-200 ms apart, so starting this far back keeps every event in the past.
    clock = start or datetime.now(UTC) - timedelta(milliseconds=200 * events + 1000)
    ids = uuid.UUID(int=rng.getrandbits(128)).hex[:8]
    session_ids = [f"{session_prefix}{ids}-s{n:03d}" for n in range(sessions)]
    owners = {sid: USERS[n % len(USERS)] for n, sid in enumerate(session_ids)}
    plans: dict[str, list[dict[str, Any]]] = {sid: [] for sid in session_ids}
    for n in range(events):
        session_id = session_ids[n % sessions]
        if not plans[session_id]:
            plans[session_id] = _steps(rng)
        step = plans[session_id].pop(0)
        clock += timedelta(milliseconds=rng.randint(5, 200))
        yield UsageEvent(
            event_id=uuid.UUID(int=rng.getrandbits(128), version=4),
            occurred_at=clock, tenant_id=tenant_id, session_id=session_id, user_id=owners[session_id],
            attributes={"campaign": f"spring-{rng.randint(1, 3)}"}, **step,
        )
