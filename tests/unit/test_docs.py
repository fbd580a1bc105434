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


def _slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip("# ").lower()).replace(" ", "-")


def test_every_link_of_the_readme_and_the_docs_reaches_its_file_and_heading():
    broken = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if target.startswith(("http://", "https://")):
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path) if path else page
            if not file.exists():
                broken.append(f"{page.name}: {target}")
            elif anchor and file.suffix == ".md":
                headings = {_slug(line) for line in file.read_text().splitlines() if line.startswith("#")}
                if anchor not in headings:
                    broken.append(f"{page.name}: {target}")
    assert broken == []


def test_the_readme_is_a_five_minute_page_with_every_moved_section_linked():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 120
    for page in ("guarantees", "operations", "configuration", "api", "benchmarks", "budgets-and-alerts",
                 "statements", "commands", "testing", "architecture", "insights"):
        assert f"(docs/{page}.md)" in readme, page
