"""The web face: a Gradio page over ``Assistant``.

For now a minimal search page over the indexed passages (the cited-answer chat replaces it).
``python app.py`` serves it on http://127.0.0.1:7860 and loads the sample documents into an
empty store in the background, so the page is up before the model has loaded.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

# Nothing may call out at start: no analytics, no hub look-ups, loopback never proxied.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
for _var in ("NO_PROXY", "no_proxy"):
    _hosts = [h for h in os.environ.get(_var, "").split(",") if h]
    os.environ[_var] = ",".join(dict.fromkeys([*_hosts, "127.0.0.1", "localhost"]))

SAMPLES_DIR = Path(__file__).resolve().parent / "assistant" / "samples"


def load_samples(assistant: Any) -> Any:
    """Ingest the bundled sample documents when the default collection is empty."""
    if assistant.documents():
        return None
    return assistant.ingest([SAMPLES_DIR])


def format_passages(passages: list[Any]) -> str:
    """Plain text of search results (rendered as text, never as HTML)."""
    if not passages:
        return "No passages found."
    out = []
    for rank, p in enumerate(passages, start=1):
        out.append(f"[{rank}] {p.title} — {p.location} (score {p.score:.2f})\n{p.text}")
    return "\n\n".join(out)


def build_ui(assistant: Any) -> Any:
    """The Gradio Blocks of the page."""
    import gradio as gr

    def search(query: str) -> str:
        if not query.strip():
            return "Type a question or some words to look for."
        return format_passages(assistant.search(query, k=5))

    with gr.Blocks(title="Briefing Assistant") as ui:
        gr.Markdown("# Briefing Assistant\nSearch the passages of your documents.")
        query = gr.Textbox(
            label="Question", placeholder="How long did the Port Calder strike last?"
        )
        button = gr.Button("Search", variant="primary")
        results = gr.Textbox(label="Passages", lines=18, interactive=False)
        button.click(search, inputs=query, outputs=results)
        query.submit(search, inputs=query, outputs=results)
    return ui


def serve(
    assistant: Any = None, host: str | None = None, port: int | None = None, samples: bool = True
) -> None:
    """Serve the page; the samples are loaded in the background when the store is empty."""
    from assistant import Assistant

    assistant = assistant or Assistant()
    host = host or assistant.settings.host
    port = port or assistant.settings.port
    if samples:
        threading.Thread(target=load_samples, args=(assistant,), daemon=True).start()
    build_ui(assistant).launch(server_name=host, server_port=port, show_error=True)


if __name__ == "__main__":
    serve()
