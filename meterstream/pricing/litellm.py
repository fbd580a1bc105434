"""Importing a LiteLLM price map (`model_prices_and_context_window.json`) as a catalog version.

Teams that already maintain LiteLLM's price map can load it as a meterstream catalog and
price or re-price with it. LiteLLM's values are USD per single unit; the import keeps them
exact (the JSON number text becomes a Decimal, never a float) with `per = 1`.

Field mapping (per token unless noted):

| LiteLLM field                                   | catalog component            |
|-------------------------------------------------|------------------------------|
| input_cost_per_token                            | input                        |
| output_cost_per_token                           | output                       |
| cache_read_input_token_cost                     | cached_input                 |
| input_cost_per_audio_token                      | audio_input                  |
| cache_read_input_audio_token_cost               | cached_audio_input           |
| output_cost_per_image_token                     | image_output                 |
| *_above_<N>k_tokens                             | long_context (above N×1000)  |
| *_batches (one common ratio to standard)        | batch_factor                 |
| output_cost_per_image                           | image (unit images)          |
| output_cost_per_second[_720p/_1080p/_4k],       | second[@720p/@1080p/@4k]     |
| output_cost_per_video_per_second                | second (unit video)          |
| input_cost_per_character                        | character (unit characters)  |

What the catalog cannot express is reported in `LiteLLMImport.skipped` / `warnings`, never
dropped silently: a distinct reasoning-token price (meterstream bills thinking as output),
cache-creation prices, `_priority`/`_flex` variants, several long-context thresholds.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from meterstream.pricing.catalog import Catalog, parse_catalog
from meterstream.pricing.money import EXACT
from meterstream.pricing.names import normalize_model_name

TOKEN_FIELDS = {
    "input": "input_cost_per_token",
    "output": "output_cost_per_token",
    "cached_input": "cache_read_input_token_cost",
    "audio_input": "input_cost_per_audio_token",
    "cached_audio_input": "cache_read_input_audio_token_cost",
    "image_output": "output_cost_per_image_token",
}
VIDEO_FIELDS = {
    "second": "output_cost_per_second",
    "second@720p": "output_cost_per_second_720p",
    "second@1080p": "output_cost_per_second_1080p",
    "second@4k": "output_cost_per_second_4k",
}
_ABOVE = re.compile(r"^(?P<field>[a-z_]+?)_above_(?P<n>\d+)(?P<k>k?)_tokens$")
_BATCHED = ("input", "output", "audio_input", "image_output")
ALL_HISTORY = date(1970, 1, 1)


@dataclass
class LiteLLMImport:
    catalog: Catalog
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (LiteLLM key, why)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (LiteLLM key, what was not carried over)


def _decimal(value: Any) -> Decimal:
    # json.loads(parse_float=Decimal) already gives Decimals; a float from elsewhere goes
    # through its shortest repr, which is the literal the JSON file held.
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _prices(spec: Mapping[str, Any], fields: Mapping[str, str], suffix: str = "") -> dict[str, Decimal]:
    return {name: _decimal(spec[key + suffix]) for name, key in fields.items() if spec.get(key + suffix) is not None}


def _batch_factor(key: str, spec: Mapping[str, Any], standard: dict[str, Decimal],
                  warnings: list[tuple[str, str]]) -> Decimal | None:
    batched = _prices(spec, TOKEN_FIELDS, "_batches")
    ratios = {EXACT.divide(batched[name], standard[name]) for name in _BATCHED
              if name in batched and standard.get(name)}
    for name in ("cached_input", "cached_audio_input"):
        if name in batched and name in standard and batched[name] != standard[name]:
            warnings.append((key, f"batch {name} price differs from standard; meterstream keeps cache prices in batch"))
    if len(ratios) > 1:
        warnings.append((key, f"batch prices are not one ratio of standard ({sorted(ratios)}): no batch mode"))
        return None
    return next(iter(ratios), None)


def _long_context(key: str, spec: Mapping[str, Any], warnings: list[tuple[str, str]]) -> dict[str, Any] | None:
    tiers: dict[int, dict[str, Decimal]] = {}
    reverse = {field_name: name for name, field_name in TOKEN_FIELDS.items()}
    for spec_key, value in spec.items():
        match = _ABOVE.match(spec_key)
        if match is None or value is None or match["field"] not in reverse:
            continue
        threshold = int(match["n"]) * (1000 if match["k"] else 1)
        tiers.setdefault(threshold, {})[reverse[match["field"]]] = _decimal(value)
    if not tiers:
        return None
    threshold = min(tiers)
    if len(tiers) > 1:
        warnings.append((key, f"several long-context thresholds {sorted(tiers)}: only {threshold} imported"))
    return {"above_tokens": threshold, "prices": tiers[threshold]}


def _entry(key: str, spec: Mapping[str, Any], base: dict[str, Any],
           warnings: list[tuple[str, str]]) -> dict[str, Any] | str:
    """A catalog entry (as data) for one LiteLLM model, or the reason it cannot be one."""
    tokens = _prices(spec, TOKEN_FIELDS)
    if tokens:
        if not {"input", "output"} <= tokens.keys():
            return "token prices without both input and output"
        reasoning = spec.get("output_cost_per_reasoning_token")
        if reasoning is not None and _decimal(reasoning) != tokens["output"]:
            warnings.append((key, "a separate reasoning-token price: meterstream bills thinking at the output price"))
        if spec.get("cache_creation_input_token_cost") is not None:
            warnings.append((key, "cache-creation price not imported (cache writes are billed as input)"))
        if "audio_input" in tokens and "cached_input" in tokens and "cached_audio_input" not in tokens:
            tokens["cached_audio_input"] = tokens["cached_input"]
            warnings.append((key, "no cached-audio price: cached audio priced at the cached-input price"))
        entry = {**base, "unit": "tokens", "prices": tokens, "batch_factor": _batch_factor(key, spec, tokens, warnings)}
        long = _long_context(key, spec, warnings)
        if long is not None:
            entry["long_context"] = long
        return entry
    if spec.get("output_cost_per_image") is not None:
        return {**base, "unit": "images", "prices": {"image": _decimal(spec["output_cost_per_image"])}}
    video = _prices(spec, VIDEO_FIELDS)
    if "second" not in video and spec.get("output_cost_per_video_per_second") is not None:
        video["second"] = _decimal(spec["output_cost_per_video_per_second"])
    if video:
        return {**base, "unit": "video", "prices": video} if "second" in video else "resolution prices only"
    if spec.get("input_cost_per_character") is not None:
        return {**base, "unit": "characters", "prices": {"character": _decimal(spec["input_cost_per_character"])}}
    return "no per-token, per-image, per-second or per-character price"


def catalog_from_litellm(
    data: Mapping[str, Any],
    *,
    providers: tuple[str, ...] = ("gemini",),
    version: str | None = None,
    effective_from: date = ALL_HISTORY,
    read_on: date | None = None,
    source: str = "litellm:model_prices_and_context_window.json",
) -> LiteLLMImport:
    """Build a catalog from a parsed LiteLLM price map, keeping `providers`' models.

    Keys are normalised (`gemini/gemini-2.5-pro` -> `gemini-2.5-pro`); when several keys
    normalise to one name, the first provider in `providers` wins. The price map carries no
    dates: every entry is effective from `effective_from` (by default all of history, so
    stored usage of any age can be re-priced with it).
    """
    read_on = read_on or date.today()
    entries: dict[str, tuple[int, dict[str, Any]]] = {}
    skipped: list[tuple[str, str]] = []
    warnings: list[tuple[str, str]] = []
    for key, spec in data.items():
        if not isinstance(spec, Mapping) or spec.get("litellm_provider") not in providers:
            continue
        name = normalize_model_name(key)
        rank = providers.index(spec["litellm_provider"])
        if name in entries and entries[name][0] <= rank:
            skipped.append((key, f"another key already provides '{name}'"))
            continue
        notes = f"deprecation date {spec['deprecation_date']}" if spec.get("deprecation_date") else ""
        base = {"model": name, "per": 1, "effective_from": effective_from, "source": spec.get("source") or source,
                "read_on": read_on, "notes": notes, "evidence": f"LiteLLM key {key}"}
        entry = _entry(key, spec, base, warnings)
        if isinstance(entry, str):
            skipped.append((key, entry))
        else:
            entries[name] = (rank, entry)
    catalog = parse_catalog(
        {"version": version or "litellm", "currency": "USD",
         "description": f"imported from a LiteLLM price map ({', '.join(providers)})",
         "entries": [entry for _, entry in entries.values()]},
        source,
    )
    return LiteLLMImport(catalog, skipped, warnings)


def read_litellm_catalog(path: Path, providers: tuple[str, ...] = ("gemini",)) -> Catalog:
    """Load a LiteLLM price map file; the catalog version names the file's content hash."""
    raw = path.read_bytes()
    data = json.loads(raw, parse_float=Decimal)
    version = f"litellm-{hashlib.sha256(raw).hexdigest()[:10]}"
    return catalog_from_litellm(data, providers=providers, version=version, source=f"litellm:{path.name}").catalog
