"""What every benchmark needs before anything else: offline settings and the repository's
packages on the import path. Import it first: ``from common import REPO, RESULTS, SHARED``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

for _var, _value in (
    ("HF_HUB_OFFLINE", "1"),
    ("TRANSFORMERS_OFFLINE", "1"),
    ("ANONYMIZED_TELEMETRY", "False"),
):
    os.environ.setdefault(_var, _value)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
RESULTS = REPO / "bench" / "results"

# Ahead of bench/ itself, so that ``ingest`` is the package and not bench/ingest.py.
if str(REPO) not in sys.path[:1]:
    sys.path.insert(0, str(REPO))
