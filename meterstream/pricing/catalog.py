"""The price catalog: versioned entries read from TOML (or JSON) files shipped in the package.

A catalog file holds one entry per model and price version, an alias table, and its own
version id. `Catalog.lookup(model, at)` answers "which prices applied to this model at
this instant": the entry whose [effective_from, effective_to) contains `at`, where a
version without `effective_to` runs until the next version of the model begins.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError, model_validator

from meterstream.pricing.entry import PriceEntry
from meterstream.pricing.errors import CatalogError
from meterstream.pricing.names import normalize_model_name, normalize_voice_tier
from meterstream.pricing.rates import RateCard, build_rate_card

PACKAGED = ("default", "demo")


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Version:
    """One price version of a model, as the engine looks it up."""

    start: datetime
    end: datetime | None  # exclusive; None = open-ended
    card: RateCard

    @property
    def entry(self) -> PriceEntry:
        return self.card.entry


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    currency: str = "USD"
    description: str = ""
    aliases: dict[str, str] = {}
    entries: tuple[PriceEntry, ...]

    _index: CatalogIndex = PrivateAttr()

    @model_validator(mode="after")
    def _versions_do_not_overlap(self) -> Catalog:
        by_model: dict[str, list[PriceEntry]] = {}
        for entry in self.entries:
            if entry.currency != self.currency:
                raise ValueError(f"{entry.model} from {entry.effective_from} is priced in {entry.currency}, "
                                 f"the catalog in {self.currency}")
            if normalize_model_name(entry.model) != entry.model:
                raise ValueError(f"model '{entry.model}' must be written in canonical form "
                                 f"'{normalize_model_name(entry.model)}'")
            by_model.setdefault(entry.model, []).append(entry)
        for model, versions in by_model.items():
            versions.sort(key=lambda e: e.effective_from)
            for earlier, later in zip(versions, versions[1:]):
                if earlier.unit != later.unit:
                    raise ValueError(f"{model}: every version must bill the same unit")
                if earlier.effective_from == later.effective_from:
                    raise ValueError(f"{model}: two versions start on {later.effective_from}")
                if earlier.effective_to is not None and earlier.effective_to > later.effective_from:
                    raise ValueError(f"{model}: version from {earlier.effective_from} ends {earlier.effective_to}, "
                                     f"after the next version starts ({later.effective_from})")
        for alias, target in self.aliases.items():
            if normalize_model_name(alias) != alias:
                raise ValueError(f"alias '{alias}' must be written in canonical form '{normalize_model_name(alias)}'")
            if target not in by_model:
                raise ValueError(f"alias '{alias}' points to '{target}', which has no entry")
            if alias in by_model:
                raise ValueError(f"alias '{alias}' shadows a model of the same name")
        return self

    def model_post_init(self, context: Any) -> None:
        self._index = CatalogIndex(self.entries, self.aliases)

    @property
    def index(self) -> CatalogIndex:
        """The compiled lookup structures (what the engine uses)."""
        return self._index

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(sorted(self._index.versions))

    def resolve(self, model: str, voice_tier: str | None = None) -> str | None:
        return self._index.resolve(model, voice_tier)

    def versions(self, canonical: str) -> tuple[Version, ...]:
        """Every version of a canonical model, newest first."""
        return self._index.versions.get(canonical, ())

    def lookup(self, canonical: str, at: datetime) -> Version | None:
        return self._index.lookup(canonical, at)

    def entry_for(self, model: str, at: datetime) -> PriceEntry | None:
        """The entry for `model` (any spelling) in effect at `at`, or None."""
        canonical = self.resolve(model)
        version = self.lookup(canonical, at) if canonical else None
        return version.entry if version else None


class CatalogIndex:
    """Versions by canonical model (newest first) and memoised name resolution."""

    __slots__ = ("aliases", "resolved", "versions")

    def __init__(self, entries: tuple[PriceEntry, ...], aliases: dict[str, str]) -> None:
        self.aliases = aliases
        self.resolved: dict[tuple[str, str | None], str | None] = {}
        grouped: dict[str, list[PriceEntry]] = {}
        for entry in entries:
            grouped.setdefault(entry.model, []).append(entry)
        self.versions: dict[str, tuple[Version, ...]] = {}
        for model, group in grouped.items():
            group.sort(key=lambda e: e.effective_from)
            versions = []
            for n, entry in enumerate(group):
                end = entry.effective_to or (group[n + 1].effective_from if n + 1 < len(group) else None)
                start = day_start(entry.effective_from)
                versions.append(Version(start, end and day_start(end), build_rate_card(entry)))
            self.versions[model] = tuple(reversed(versions))

    def resolve(self, model: str, voice_tier: str | None = None) -> str | None:
        """The canonical catalog model for a name as producers send it, or None if unknown.

        `models/…` prefixes, `-001` suffixes and alias names resolve to one entry; for
        Cloud Text-to-Speech, `cloud-tts` plus a voice tier (or voice name) resolves to the
        tier's entry (`cloud-tts-chirp3-hd`).
        """
        key = (model, voice_tier)
        try:
            return self.resolved[key]
        except KeyError:
            pass
        name = normalize_model_name(model)
        found = name if name in self.versions else self.aliases.get(name)
        tier = normalize_voice_tier(voice_tier)
        if found is None and tier is not None:
            tiered = f"{name}-{tier}"
            found = tiered if tiered in self.versions else self.aliases.get(tiered)
        if len(self.resolved) < 100_000:  # producers' spellings are few; bound the memo anyway
            self.resolved[key] = found
        return found

    def lookup(self, canonical: str, at: datetime) -> Version | None:
        """The version of `canonical` in effect at `at` (aware datetime), or None."""
        for version in self.versions.get(canonical, ()):
            if version.start <= at:
                return version if version.end is None or at < version.end else None
        return None


# -- loading ---------------------------------------------------------------------------------------


def parse_catalog(data: dict[str, Any], source: str) -> Catalog:
    try:
        return Catalog.model_validate(data)
    except ValidationError as error:
        raise CatalogError(str(error), source) from None


def read_catalog_file(path: Path) -> Catalog:
    text = path.read_text()
    if path.suffix == ".toml":
        data = tomllib.loads(text, parse_float=Decimal)
    elif path.suffix == ".json":
        data = json.loads(text, parse_float=Decimal)
    else:
        raise CatalogError("a catalog file must end in .toml or .json", str(path))
    return parse_catalog(data, str(path))


_packaged: dict[str, Catalog] = {}


def load_catalog(name: str = "default") -> Catalog:
    """A packaged catalog (`default`, `demo`), a catalog file (.toml/.json), or `litellm:PATH`.

    `litellm:PATH` imports a LiteLLM `model_prices_and_context_window.json` (see
    meterstream.pricing.litellm). Packaged catalogs are parsed once per process.
    """
    if name in PACKAGED:
        if name not in _packaged:
            text = resources.files("meterstream.pricing").joinpath("catalogs", f"{name}.toml").read_text()
            _packaged[name] = parse_catalog(tomllib.loads(text, parse_float=Decimal), f"catalogs/{name}.toml")
        return _packaged[name]
    if name.startswith("litellm:"):
        from meterstream.pricing.litellm import read_litellm_catalog

        return read_litellm_catalog(Path(name.removeprefix("litellm:")))
    path = Path(name)
    if not path.is_file():
        raise CatalogError(f"no such catalog: choose {', '.join(PACKAGED)}, a .toml/.json file or litellm:PATH", name)
    return read_catalog_file(path)
