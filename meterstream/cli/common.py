"""What every command module shares: the console for messages (stderr; results go to stdout)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from rich.console import Console

from meterstream.settings import Settings

console = Console(stderr=True)

Handler = Callable[[argparse.Namespace, Settings], int]
