"""CrossGuard entry point: ``pulumi preview --policy-pack policy``.

The rules themselves live in ``scripts/policy/rules.py`` (shared with ``csp-secure-app plan``);
this pack
only adapts Pulumi's validation arguments to them (``policy/pack.py``).
"""

import sys
from pathlib import Path

# The policy host runs this file from policy/; the repo root holds `scripts`, this directory
# holds `pack`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pack import PACK_NAME, build_policies
from pulumi_policy import PolicyPack

PolicyPack(name=PACK_NAME, policies=build_policies())
