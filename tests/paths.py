"""Where the tests find the repository and the recorded real data beside it (one definition).

Test code takes the ``shared_data`` fixture (tests/conftest.py), which fails clearly when the
folder is missing; modules that are not tests (tests/reliability/snapshots.py, used by bench/)
import :data:`SHARED_DATA` from here.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
