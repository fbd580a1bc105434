"""UsageEvents from real google-genai SDK objects, constructed offline."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

types = pytest.importorskip("google.genai.types", reason="google-genai is the optional extra 'adapters'")

from meterstream.pricing import load_catalog, price_event  # noqa: E402
from meterstream.producers.adapters import (  # noqa: E402
    AdapterError,
    event_from_generate_content,
    event_from_generate_images,
    event_from_generate_videos,
    token_usage_from_metadata,
)
from meterstream.schemas import ImageUsage, Service, TokenUsage, VideoUsage  # noqa: E402

AT = datetime(2026, 6, 1, tzinfo=UTC)
IDS = {"tenant_id": "acme", "session_id": "s1"}


def modality(name: str, count: int):
    return types.ModalityTokenCount(modality=types.MediaModality[name], token_count=count)


def test_usage_metadata_with_cache_audio_thinking_and_tool_use_maps_to_token_usage():
    metadata = types.GenerateContentResponseUsageMetadata(
        prompt_token_count=20_000, cached_content_token_count=8_000, candidates_token_count=700,
        thoughts_token_count=1_300, tool_use_prompt_token_count=250, total_token_count=22_250,
        prompt_tokens_details=[modality("TEXT", 15_000), modality("AUDIO", 5_000)],
        cache_tokens_details=[modality("TEXT", 6_000), modality("AUDIO", 2_000)],
        candidates_tokens_details=[modality("TEXT", 700)],
    )
    assert token_usage_from_metadata(metadata) == TokenUsage(
        input_tokens=20_000, cached_input_tokens=8_000, cached_audio_input_tokens=2_000, audio_input_tokens=5_000,
        output_tokens=700, thinking_tokens=1_300, tool_use_prompt_tokens=250,
    )


def test_a_generate_content_response_becomes_a_priced_event():
    response = types.GenerateContentResponse(
        model_version="gemini-2.5-flash",
        usage_metadata=types.GenerateContentResponseUsageMetadata(
            prompt_token_count=10_000, cached_content_token_count=4_000, candidates_token_count=1_000,
            total_token_count=11_000, traffic_type=types.TrafficType.ON_DEMAND,
        ),
    )
    event = event_from_generate_content(response, occurred_at=AT, user_id="dana", **IDS)
    assert (event.model, event.service, event.user_id) == ("gemini-2.5-flash", Service.TEXT, "dana")
    assert event.attributes == {"traffic_type": "ON_DEMAND"}
    # 6,000 × 0.30 + 4,000 × 0.03 + 1,000 × 2.50, per 1M
    assert price_event(load_catalog(), event).total_cost == Decimal("0.00442")


def test_thinking_counted_inside_candidates_is_not_added_twice():
    # Some Vertex responses count thoughts inside candidates: prompt + candidates = total
    metadata = types.GenerateContentResponseUsageMetadata(
        prompt_token_count=100, candidates_token_count=900, thoughts_token_count=600, total_token_count=1_000)
    usage = token_usage_from_metadata(metadata)
    assert (usage.output_tokens, usage.thinking_tokens) == (300, 600)


def test_native_image_output_tokens_are_split_from_text_output():
    metadata = types.GenerateContentResponseUsageMetadata(
        prompt_token_count=300, candidates_token_count=1_390, total_token_count=1_690,
        candidates_tokens_details=[modality("TEXT", 100), modality("IMAGE", 1_290)])
    event = event_from_generate_content(metadata, model="gemini-2.5-flash-image", **IDS)
    assert (event.usage.output_tokens, event.usage.image_output_tokens, event.service) == (1_390, 1_290,
                                                                                          Service.IMAGE)


def test_a_response_without_a_model_needs_one_named():
    with pytest.raises(AdapterError, match="model"):
        event_from_generate_content(types.GenerateContentResponse(
            usage_metadata=types.GenerateContentResponseUsageMetadata(prompt_token_count=1)), **IDS)


def test_a_response_without_usage_metadata_is_refused():
    with pytest.raises(AdapterError, match="usage_metadata"):
        event_from_generate_content(types.GenerateContentResponse(model_version="gemini-2.5-flash"), **IDS)


def image(filtered: bool = False):
    if filtered:
        return types.GeneratedImage(rai_filtered_reason="blocked by the safety filter")
    return types.GeneratedImage(image=types.Image(image_bytes=b"\x89PNG", mime_type="image/png"))


def test_images_returned_are_counted_and_filtered_ones_are_not():
    response = types.GenerateImagesResponse(generated_images=[image(), image(), image(filtered=True)])
    event = event_from_generate_images(response, model="imagen-4.0-ultra-generate-001", occurred_at=AT,
                                       config=types.GenerateImagesConfig(number_of_images=3, image_size="2K"), **IDS)
    assert event.usage == ImageUsage(images=2, resolution="2K")
    assert price_event(load_catalog(), event).total_cost == Decimal("0.12")  # 2 × 0.06


def video_operation(videos: int, done: bool = True):
    generated = [types.GeneratedVideo(video=types.Video(uri=f"gs://bucket/v{n}.mp4")) for n in range(videos)]
    return types.GenerateVideosOperation(
        name="models/veo/operations/1", done=done,
        response=types.GenerateVideosResponse(generated_videos=generated) if done else None)


def test_a_finished_video_operation_bills_duration_times_videos_with_audio_and_resolution():
    config = types.GenerateVideosConfig(duration_seconds=8, number_of_videos=2, generate_audio=False,
                                        resolution="1080p")
    event = event_from_generate_videos(video_operation(2), config, model="veo-3.0-fast-generate-001",
                                       occurred_at=AT, **IDS)
    assert event.usage == VideoUsage(seconds=Decimal(16), with_audio=False, resolution="1080p")
    assert price_event(load_catalog(), event).total_cost == Decimal("1.60")  # 16 s × 0.10 without audio


def test_veo_3_generates_audio_unless_the_config_says_otherwise():
    event = event_from_generate_videos(video_operation(1), types.GenerateVideosConfig(duration_seconds=6),
                                       model="veo-3.0-generate", **IDS)
    assert (event.usage.with_audio, event.usage.resolution, event.usage.seconds) == (True, "720p", Decimal(6))


def test_only_the_videos_returned_are_billed():
    config = types.GenerateVideosConfig(duration_seconds=8, number_of_videos=4)
    event = event_from_generate_videos(video_operation(3), config, model="veo-3.1-generate-preview", **IDS)
    assert event.usage.seconds == Decimal(24)


def test_the_duration_is_never_guessed():
    with pytest.raises(AdapterError, match="duration"):
        event_from_generate_videos(video_operation(1), types.GenerateVideosConfig(), model="veo-3.0-generate", **IDS)
    event = event_from_generate_videos(video_operation(1), None, model="veo-3.0-generate", duration_seconds=8, **IDS)
    assert event.usage.seconds == Decimal(8)


def test_an_unfinished_operation_cannot_be_metered_yet():
    with pytest.raises(AdapterError, match="has not finished"):
        event_from_generate_videos(video_operation(0, done=False), types.GenerateVideosConfig(duration_seconds=8),
                                   model="veo-3.0-generate", **IDS)
