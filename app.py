"""The web chat: Gradio over ``Assistant``, with sources, a document viewer and a library.

``python app.py`` (or ``brief serve``) serves it on http://127.0.0.1:7860. The page is up
within seconds: the embedding model loads, and the bundled samples are ingested into an empty
store, in the background. Answers stream into the chat; every marker [n] and every source card
links to ``/view/...``, our own page over the stored cleaned text with the quote highlighted,
which opens in a side panel. Documents are uploaded (several at once, drag and drop) into the
current collection; collections are created and switched from the library tab.

The chat lives in ``assistant/faces/web/`` (``chat.py``: state and handlers; ``page.py``: the
page and the app that carries it), the serving in ``assistant/faces/serve.py``.
"""

from __future__ import annotations

from assistant.faces.web.chat import ChatApp
from assistant.faces.web.page import build_ui, make_app

__all__ = ["ChatApp", "build_ui", "main", "make_app"]


def main() -> None:
    """Serve the chat and the API until interrupted."""
    from assistant.errors import StoreBusy
    from assistant.faces.serve import serve

    try:
        serve()
    except StoreBusy as exc:
        raise SystemExit(f"error: {exc}") from None


if __name__ == "__main__":
    main()
