"""The catalog: what it covers, how names resolve, how versions are chosen, what it refuses."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from meterstream.pricing import CatalogError, load_catalog
from meterstream.producers.workload import studio_workload
from tests.unit.pricing.builders import DEFAULT, catalog

REQUIRED_MODELS = [
    "gemini-2.0-flash", "gemini-2.0-flash-lite", "gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite",
    "gemini-2.5-flash-image", "gemini-2.5-flash-preview-tts", "gemini-2.5-pro-preview-tts", "imagen-3.0-generate",
    "imagen-4.0-fast-generate", "imagen-4.0-generate", "imagen-4.0-ultra-generate", "veo-2.0-generate",
    "veo-3.0-generate", "veo-3.0-fast-generate", "veo-3.1-generate", "veo-3.1-fast-generate",
    "cloud-tts-standard", "cloud-tts-wavenet", "cloud-tts-neural2", "cloud-tts-studio", "cloud-tts-chirp3-hd",
]


@pytest.mark.parametrize("model", REQUIRED_MODELS)
def test_the_default_catalog_covers_the_model(model):
    assert model in DEFAULT.models


def test_every_entry_names_its_source_read_date_and_evidence():
    for entry in DEFAULT.entries:
        assert entry.source.startswith("https://"), entry.model
        assert entry.read_on >= date(2026, 3, 30), entry.model
        assert entry.evidence, f"{entry.model} says nothing about how its price was checked"


@pytest.mark.parametrize(("model", "launch", "cut"), [
    ("veo-3.0-generate", Decimal("0.75"), Decimal("0.40")),
    ("veo-3.0-fast-generate", Decimal("0.40"), Decimal("0.15")),
])
def test_veo_3_keeps_its_launch_price_as_an_earlier_version(model, launch, cut):
    first, second = (version.entry for version in reversed(DEFAULT.versions(model)))
    assert (first.prices["second_with_audio"], second.prices["second_with_audio"]) == (launch, cut)
    assert first.effective_from < second.effective_from == date(2025, 9, 9)


@pytest.mark.parametrize(("spelling", "canonical"), [
    ("gemini-2.5-flash", "gemini-2.5-flash"),
    ("models/gemini-2.5-flash", "gemini-2.5-flash"),
    ("publishers/google/models/gemini-2.0-flash-001", "gemini-2.0-flash"),
    ("Gemini-2.5-Pro", "gemini-2.5-pro"),
    ("gemini-2.5-pro-preview-06-05", "gemini-2.5-pro"),
    ("models/gemini-2.5-flash-image-preview", "gemini-2.5-flash-image"),
    ("imagen-4.0-ultra-generate-001", "imagen-4.0-ultra-generate"),
    ("imagen-4.0-generate-preview-06-06", "imagen-4.0-generate"),
    ("veo-3.0-fast-generate-001", "veo-3.0-fast-generate"),
    ("veo-3.1-generate-preview", "veo-3.1-generate"),
    ("gemini/gemini-2.5-flash-lite", "gemini-2.5-flash-lite"),
])
def test_model_spellings_resolve_to_one_entry(spelling, canonical):
    assert DEFAULT.resolve(spelling) == canonical


@pytest.mark.parametrize(("voice", "canonical"), [
    ("chirp3-hd", "cloud-tts-chirp3-hd"),
    ("en-US-Chirp3-HD-Kore", "cloud-tts-chirp3-hd"),
    ("en-US-Wavenet-D", "cloud-tts-wavenet"),
    ("en-GB-Polyglot-1", "cloud-tts-neural2"),
    ("Standard", "cloud-tts-standard"),
])
def test_cloud_tts_with_a_voice_tier_resolves_to_the_tier(voice, canonical):
    assert DEFAULT.resolve("cloud-tts", voice) == canonical


def test_an_unknown_name_resolves_to_nothing():
    assert DEFAULT.resolve("gemini-2.0-flash-exp") is None


def test_every_model_of_the_demo_workload_is_priced():
    models = {event.model for event in studio_workload(400, sessions=10)}
    assert {DEFAULT.resolve(model) for model in models} >= models


def test_the_seed_demo_prices_are_a_named_catalog_not_the_default():
    demo = load_catalog("demo")
    assert demo.version == "seed-demo" != DEFAULT.version
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert demo.entry_for("gemini-2.0-flash-exp", at).prices == {
        "input": Decimal("0.000000375"), "output": Decimal("0.0000015")}
    assert demo.entry_for("imagen-4.0-ultra-generate", at).prices == {"image": Decimal("0.04")}
    assert demo.entry_for("veo-3.0-generate", at).prices == {"second": Decimal("0.10")}
    assert demo.entry_for("cloud-tts-chirp3-hd", at).prices == {"character": Decimal("0.000015")}
    assert DEFAULT.entry_for("imagen-4.0-ultra-generate", at).prices == {"image": Decimal("0.06")}


TWO_VERSIONS = catalog(
    {"model": "m", "unit": "images", "effective_from": "2025-01-01", "effective_to": "2025-03-01",
     "prices": {"image": 1}},
    {"model": "m", "unit": "images", "effective_from": "2025-06-01", "prices": {"image": 2}},
)


@pytest.mark.parametrize(("at", "price"), [
    (datetime(2024, 12, 31, 23, 59, tzinfo=UTC), None),  # before the first version
    (datetime(2025, 1, 1, tzinfo=UTC), Decimal(1)),  # effective_from is inclusive, 00:00 UTC
    (datetime(2025, 2, 28, 23, 59, tzinfo=UTC), Decimal(1)),
    (datetime(2025, 3, 1, tzinfo=UTC), None),  # effective_to is exclusive: a gap until the next version
    (datetime(2025, 6, 1, tzinfo=UTC), Decimal(2)),
    (datetime(2030, 1, 1, tzinfo=UTC), Decimal(2)),  # the last version is open-ended
])
def test_the_version_in_effect_at_an_instant(at, price):
    entry = TWO_VERSIONS.entry_for("m", at)
    assert (entry.prices["image"] if entry else None) == price


BASE = {"model": "m", "unit": "tokens", "per": 1_000_000, "effective_from": "2025-01-01",
        "prices": {"input": 1, "output": 2}}


@pytest.mark.parametrize(("entries", "aliases", "complaint"), [
    ([BASE, {**BASE, "effective_from": "2025-01-01"}], {}, "two versions start"),
    ([{**BASE, "effective_to": "2025-06-01"}, {**BASE, "effective_from": "2025-05-01"}], {}, "after the next"),
    ([BASE], {"alias": "missing"}, "has no entry"),
    ([BASE], {"m": "m"}, "shadows a model"),
    ([{**BASE, "per": 3}], {}, "power of ten"),
    ([{**BASE, "prices": {"input": 1}}], {}, "needs input and output"),
    ([{**BASE, "prices": {"input": 1, "output": 2, "seconds": 3}}], {}, "not a tokens component"),
    ([{**BASE, "prices": {"input": -1, "output": 2}}], {}, ">= 0"),
    ([{**BASE, "prices": {"input": 1, "output": 2, "audio_input": 3, "cached_input": 1}}], {}, "cached_audio_input"),
    ([{**BASE, "model": "Models/M"}], {}, "canonical form"),
    ([{**BASE, "currency": "EUR"}], {}, "priced in EUR, the catalog in USD"),
    ([{**BASE, "unit": "images", "prices": {"image": 1},
       "long_context": {"above_tokens": 10, "prices": {"image": 2}}}], {}, "token entries only"),
])
def test_a_malformed_catalog_is_refused_with_the_reason(entries, aliases, complaint):
    with pytest.raises(CatalogError, match=complaint):
        catalog(*entries, aliases=aliases)


def test_a_catalog_file_can_be_loaded_by_path(tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text('version = "mine"\n[[entries]]\nmodel = "x"\nunit = "images"\neffective_from = 2025-01-01\n'
                    'prices = { image = 0.125 }\nsource = "contract"\nread_on = 2025-01-01\n')
    loaded = load_catalog(str(path))
    assert loaded.version == "mine"
    assert loaded.entry_for("x", datetime(2025, 2, 1, tzinfo=UTC)).prices == {"image": Decimal("0.125")}


def test_an_unknown_catalog_name_says_what_is_accepted():
    with pytest.raises(CatalogError, match="default, demo"):
        load_catalog("nonexistent")


def test_prices_are_read_as_exact_decimals_not_floats():
    entry = DEFAULT.entry_for("gemini-2.0-flash", datetime(2026, 1, 1, tzinfo=UTC))
    assert entry.prices["cached_input"] == Decimal("0.025")
    assert str(entry.prices["input"]) == "0.10"
