"""Briefing Assistant: cited answers from your own documents.

``from assistant import Assistant`` is the whole public entry point; heavy parts (torch,
Chroma) load only when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from assistant.core import Assistant
    from assistant.index.passages import Passage
    from assistant.settings import Settings, get_settings

_LAZY = {
    "Assistant": "assistant.core",
    "Passage": "assistant.index.passages",
    "Settings": "assistant.settings",
    "get_settings": "assistant.settings",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")


__all__ = ["Assistant", "Passage", "Settings", "__version__", "get_settings"]
