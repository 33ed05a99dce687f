"""Entry point for ``pulumi up`` / ``pulumi preview`` (Pulumi.yaml: ``main: infra/``).

Reads and validates the stack config, declares the resources, exports the outputs. Nothing else.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Pulumi runs this file with infra/ as the program directory; the repo root must be importable
# for `infra.*` and `scripts.*`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi

from foundation.errors import InvalidConfig
from infra.config import read_config
from infra.program import declare

try:
    config = read_config()
except InvalidConfig as error:
    # One clean line per bad value, no traceback: the user fixes them all in one pass.
    for line in error.lines():
        print(f"error: {line}", file=sys.stderr)
    raise SystemExit(error.exit_code) from None

for key, value in declare(config).items():
    pulumi.export(key, value)
