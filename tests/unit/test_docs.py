"""The documentation stays in step with the code it describes."""

import re
from pathlib import Path

from meterstream.api.settings import ApiSettings
from meterstream.settings import Settings
from meterstream.statements.settings import StatementSettings

ROOT = Path(__file__).resolve().parents[2]
NOT_SETTINGS = {"METERSTREAM_FAILPOINTS", "METERSTREAM_CHAOS_EVENTS"}  # read from the environment directly


def settings_variables() -> set[str]:
    return ({f"METERSTREAM_{name.upper()}" for name in Settings.model_fields}
            | {f"METERSTREAM_API_{name.upper()}" for name in ApiSettings.model_fields}
            | {f"METERSTREAM_STATEMENTS_{name.upper()}" for name in StatementSettings.model_fields})


def test_the_configuration_reference_lists_exactly_the_settings():
    documented = set(re.findall(r"`(METERSTREAM_[A-Z0-9_]+)`", (ROOT / "docs/configuration.md").read_text()))
    assert settings_variables() - documented == set(), "settings missing from docs/configuration.md"
    assert documented - settings_variables() - NOT_SETTINGS == set(), "documented, but not settings"


def test_every_docs_link_in_the_readme_points_at_a_file():
    readme = (ROOT / "README.md").read_text()
    for target in re.findall(r"\]\(((?:docs/)?[\w./-]+\.md)(?:#[\w-]+)?\)", readme):
        assert (ROOT / target).exists(), target
