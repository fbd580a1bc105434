"""Loading a LiteLLM price map (model_prices_and_context_window.json) as a catalog version."""

import importlib.util
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from meterstream.pricing import Pricer, load_catalog
from meterstream.pricing.litellm import catalog_from_litellm
from meterstream.schemas import ImageUsage, VideoUsage
from tests.unit.pricing.builders import event, tokens

D = Decimal
# A slice of the format, as LiteLLM writes it: USD per single unit, floats in the JSON text.
PRICE_MAP = """{
  "sample_spec": {"input_cost_per_token": 0.0, "litellm_provider": "one of https://docs.litellm.ai/docs/providers"},
  "gemini/gemini-2.5-pro": {
    "litellm_provider": "gemini", "mode": "chat",
    "input_cost_per_token": 1.25e-06, "output_cost_per_token": 1e-05, "cache_read_input_token_cost": 1.25e-07,
    "input_cost_per_token_above_200k_tokens": 2.5e-06, "output_cost_per_token_above_200k_tokens": 1.5e-05,
    "cache_read_input_token_cost_above_200k_tokens": 2.5e-07,
    "input_cost_per_token_batches": 6.25e-07, "output_cost_per_token_batches": 5e-06,
    "cache_read_input_token_cost_batches": 1.25e-07, "input_cost_per_token_priority": 2.25e-06,
    "source": "https://ai.google.dev/gemini-api/docs/pricing"
  },
  "gemini/gemini-2.5-flash": {
    "litellm_provider": "gemini", "mode": "chat",
    "input_cost_per_token": 3e-07, "input_cost_per_audio_token": 1e-06, "output_cost_per_token": 2.5e-06,
    "output_cost_per_reasoning_token": 3.5e-06, "cache_read_input_token_cost": 3e-08,
    "cache_read_input_audio_token_cost": 1e-07, "deprecation_date": "2027-06-17"
  },
  "gemini/imagen-4.0-generate-001": {"litellm_provider": "gemini", "mode": "image_generation",
                                     "output_cost_per_image": 0.04},
  "gemini/veo-3.1-fast-generate-preview": {"litellm_provider": "gemini", "mode": "video_generation",
    "output_cost_per_second": 0.1, "output_cost_per_second_1080p": 0.12, "output_cost_per_second_4k": 0.3},
  "gemini/gemini-embedding-001": {"litellm_provider": "gemini", "mode": "embedding", "input_cost_per_token": 1.5e-07},
  "gpt-4o": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 2.5e-06,
             "output_cost_per_token": 1e-05}
}"""
AT = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def imported():
    return catalog_from_litellm(json.loads(PRICE_MAP, parse_float=D), version="litellm-test",
                                read_on=date(2026, 11, 30))


def test_token_prices_map_to_components_exactly_per_single_token(imported):
    entry = imported.catalog.entry_for("gemini-2.5-flash", AT)
    assert (entry.unit, entry.per) == ("tokens", 1)
    assert entry.prices == {"input": D("3e-07"), "audio_input": D("1e-06"), "output": D("2.5e-06"),
                            "cached_input": D("3e-08"), "cached_audio_input": D("1e-07")}


def test_the_above_200k_prices_become_the_long_context_tier(imported):
    entry = imported.catalog.entry_for("gemini/gemini-2.5-pro", AT)
    assert entry.long_context.above_tokens == 200_000
    assert entry.long_context.prices == {"input": D("2.5e-06"), "output": D("1.5e-05"), "cached_input": D("2.5e-07")}


def test_batch_prices_that_are_one_ratio_of_standard_become_the_batch_factor(imported):
    assert imported.catalog.entry_for("gemini-2.5-pro", AT).batch_factor == D("0.5")


def test_imported_prices_price_events_like_the_catalog_they_came_from(imported):
    # 250,000 × 2.5e-06 + 1,000 × 1.5e-05 = 0.625 + 0.015, the same as Gemini 2.5 Pro's list prices
    priced = Pricer(imported.catalog).price(event("gemini-2.5-pro", tokens(input_tokens=250_000, output_tokens=1_000)))
    assert priced.total_cost == D("0.640")


def test_per_image_and_per_second_prices_become_image_and_video_entries(imported):
    pricer = Pricer(imported.catalog)
    assert pricer.price(event("imagen-4.0-generate", ImageUsage(images=2))).total_cost == D("0.08")
    video = pricer.price(event("veo-3.1-fast-generate-preview", VideoUsage(seconds=D(8), resolution="1080p")))
    assert video.total_cost == D("0.96")


def test_the_import_keeps_only_the_chosen_providers_and_says_what_it_skipped(imported):
    assert imported.catalog.models == ("gemini-2.5-flash", "gemini-2.5-pro", "imagen-4.0-generate",
                                       "veo-3.1-fast-generate-preview")
    assert ("gemini/gemini-embedding-001", "token prices without both input and output") in imported.skipped


def test_what_the_catalog_cannot_express_is_reported_not_dropped_silently(imported):
    warnings = dict(imported.warnings)
    assert "reasoning-token price" in warnings["gemini/gemini-2.5-flash"]


def test_the_imported_catalog_covers_all_history_and_records_its_provenance(imported):
    entry = imported.catalog.entry_for("gemini-2.5-flash", datetime(1999, 1, 1, tzinfo=UTC))
    assert (entry.effective_from, entry.read_on) == (date(1970, 1, 1), date(2026, 11, 30))
    assert entry.notes == "deprecation date 2027-06-17"
    assert imported.catalog.entry_for("gemini-2.5-pro", AT).source == "https://ai.google.dev/gemini-api/docs/pricing"


def test_load_catalog_reads_a_litellm_file(tmp_path):
    path = tmp_path / "model_prices_and_context_window.json"
    path.write_text(PRICE_MAP)
    loaded = load_catalog(f"litellm:{path}")
    assert loaded.version.startswith("litellm-") and "gemini-2.5-pro" in loaded.models


def test_litellms_own_bundled_map_imports_and_agrees_with_the_default_catalog():
    spec = importlib.util.find_spec("litellm")  # located, not imported: importing litellm is slow
    if spec is None or spec.origin is None:
        pytest.skip("litellm is only installed for the benchmark (extra 'bench')")
    bundled = Path(spec.origin).parent / "model_prices_and_context_window_backup.json"
    catalog = load_catalog(f"litellm:{bundled}")
    usage = tokens(input_tokens=20_000, cached_input_tokens=5_000, output_tokens=1_000, thinking_tokens=500)
    for model in ("gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite"):
        ours = Pricer(load_catalog()).price(event(model, usage)).total_cost
        assert Pricer(catalog).price(event(model, usage)).total_cost == ours, model
