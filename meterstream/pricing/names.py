"""Normalising the names producers send: model ids, video resolutions and TTS voice tiers.

Gemini and Vertex report one model under many spellings: `models/gemini-2.5-flash`,
`publishers/google/models/gemini-2.5-flash-001`, `gemini/gemini-2.5-flash` (LiteLLM).
The catalog keys entries by one canonical name; these functions bring a spelling to the
form the catalog's alias table is written in.
"""

from __future__ import annotations

import re

_VERSION_SUFFIX = re.compile(r"-\d{3}$")
_RESOLUTIONS = {"2160p": "4k", "uhd": "4k", "fhd": "1080p", "hd": "720p"}
# Cloud Text-to-Speech voice names carry their tier: en-US-Chirp3-HD-Kore, en-US-Neural2-A.
_VOICE_TIERS = (
    ("chirp3-hd", "chirp3-hd"), ("chirp3_hd", "chirp3-hd"), ("chirp-3-hd", "chirp3-hd"),
    ("studio", "studio"), ("neural2", "neural2"), ("polyglot", "polyglot"),
    ("wavenet", "wavenet"), ("standard", "standard"),
)


def normalize_model_name(name: str) -> str:
    """`Models/Gemini-2.5-Flash-001` -> `gemini-2.5-flash`: last path segment, lower case, no `-NNN`."""
    name = name.strip().lower().rsplit("/", 1)[-1].split("@", 1)[0]
    return _VERSION_SUFFIX.sub("", name)


def normalize_resolution(resolution: str | None) -> str | None:
    """`1080P` -> `1080p`, `2160p` -> `4k`; None stays None."""
    if resolution is None:
        return None
    value = resolution.strip().lower()
    return _RESOLUTIONS.get(value, value) or None


def normalize_voice_tier(voice: str | None) -> str | None:
    """A tier (`Chirp3-HD`) or a full voice name (`en-US-Neural2-A`) -> the tier (`neural2`)."""
    if not voice:
        return None
    value = voice.strip().lower()
    for marker, tier in _VOICE_TIERS:
        if marker in value:
            return tier
    return value
