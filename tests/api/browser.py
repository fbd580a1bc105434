"""Running a browser script of web/e2e against the API stack (playwright-core driving
Debian's headless Chromium). Outside CI a test skips, saying why, only when Chromium, the
node packages or the dashboard build are truly absent; in CI (CI=true) they must be there.
Screenshots go to test-output/dashboard/."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
CHROMIUM = Path(os.environ.get("METERSTREAM_CHROMIUM", "/usr/bin/chromium"))
OUTPUT = ROOT / "test-output" / "dashboard"


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"Chromium is not at {CHROMIUM} (apt-get install -y chromium)"
    if shutil.which("node") is None:
        return "node is not on PATH"
    if not (WEB / "node_modules" / "playwright-core").exists():
        return "web/node_modules is missing (npm --prefix web ci)"
    if not (WEB / "dist" / "index.html").exists():
        return "the dashboard is not built (npm --prefix web run build)"
    return None


def run_browser_script(script: str, api_url: str, api_key: str, **env: str) -> dict:
    """Run web/e2e/`script` against the API at `api_url` as `api_key`; return the JSON it prints."""
    missing = _missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser test cannot run in CI: {missing}")
        pytest.skip(missing)
    env = {**os.environ, "API_URL": api_url, "API_KEY": api_key, "OUT_DIR": str(OUTPUT), "CHROMIUM": str(CHROMIUM),
           **env}
    done = subprocess.run(["node", f"e2e/{script}"], cwd=WEB, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"the browser run failed:\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def saved_png(path: str) -> bool:
    """Whether the screenshot at `path` (relative to web/ as the script saw it) is a PNG file."""
    file = Path(path)
    file = file if file.is_absolute() else WEB / file
    return file.read_bytes().startswith(b"\x89PNG")


def assert_fits(run: dict, name: str, wide: int = 1400, phone: int = 390) -> None:
    """Nothing of the page `name` stuck out of the window at either width (`sizes` in
    web/e2e/browser.mjs measured both), and both screenshots were saved."""
    for key, width in ((f"overflow_{name}_wide", wide), (f"overflow_{name}", phone)):
        measured = run[key]
        assert measured["scroll_width"] <= measured["client_width"] == width, measured
        assert measured["outside"] == [], measured
    assert saved_png(run[f"screenshot_{name}_wide"]) and saved_png(run[f"screenshot_{name}_phone"])
