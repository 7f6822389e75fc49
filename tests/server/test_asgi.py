"""The Procfile's application module builds the app and tunes the collector for a long-lived server."""

from __future__ import annotations

import json
import subprocess
import sys

from server.app import GC_YOUNG_THRESHOLD
from tests.harness import ROOT


def test_importing_the_app_freezes_startup_objects_and_raises_the_young_threshold() -> None:
    # A fresh interpreter, as uvicorn imports server.asgi in each web process.
    probe = "import gc, json, server.asgi; print(json.dumps([gc.get_freeze_count(), gc.get_threshold()[0]]))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    frozen, young_threshold = json.loads(result.stdout.strip().splitlines()[-1])
    # Every module, route and template object loaded at start-up, kept out of full collections.
    assert frozen > 10_000
    assert young_threshold == GC_YOUNG_THRESHOLD
