"""The web chat's state and handlers: answers streamed into the chat with their sources, the
"Brief me" briefing, the library (upload, remove, collections) and the warm-up that loads the
model and the bundled samples off the page."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Container, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.faces import uploads
from assistant.faces.schemas import TURN_CHARS
from assistant.faces.view_links import view_signer

if TYPE_CHECKING:
    from assistant.answering.answer import Citation
    from assistant.core import Assistant
    from ingest.pipeline import FileResult, IngestReport

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "samples"
WRITING = "*Writing the briefing…*"

log = logging.getLogger("briefing.app")


def load_samples(assistant: Assistant) -> IngestReport | None:
    """Ingest the bundled sample documents when the default collection is empty."""
    if assistant.documents():
        return None
    return assistant.ingest([SAMPLES_DIR])


class ChatApp:
    """The page's behaviour, separate from its layout so that each part can be tested."""

    def __init__(self, assistant: Assistant, samples: bool = True) -> None:
        self.assistant = assistant
        self.samples = samples
        #: Signs the chat's links to the viewer (with API keys set, the viewer wants them).
        self.sign = view_signer(assistant.settings)
        from assistant.faces.viewer import exports_folder

        #: Where "Brief me" exports are written for download: the data dir, not a shared /tmp.
        self.exports = exports_folder(assistant.settings)
        self.ready = threading.Event()
        self._warming = threading.Lock()
        self._warm_started = False
        self.startup_error: str | None = None

    # --- start ---------------------------------------------------------------------------

    def start_warm_up(self) -> None:
        """Start ``warm_up`` in the background, once."""
        with self._warming:
            if self._warm_started:
                return
            self._warm_started = True
        threading.Thread(target=self.warm_up, daemon=True, name="warm-up").start()

    def warm_up(self) -> None:
        """Load the samples into an empty store, then the model and indexes, off the page."""
        try:
            recovered = self.assistant.recover()
            if recovered:
                log.warning("undid %d unfinished write(s) of a process that stopped", recovered)
            if self.samples:
                load_samples(self.assistant)
            collection = self.assistant.settings.collection
            if self.assistant.documents(collection):
                # The local models, Chroma and the word index, ready before the first question
                # (never a question to the chat model: slow, or paid by the token)
                self.assistant.warm_up(collection)
            else:
                self.assistant.index.embedder.embed_one("warm up")
        except Exception as exc:  # keep serving: the chat reports it
            log.exception("start-up failed")
            self.startup_error = f"{type(exc).__name__}: {exc}"
        finally:
            self.ready.set()

    # --- chat ----------------------------------------------------------------------------

    def respond(
        self, message: str, history: list[dict[str, Any]], collection: str
    ) -> Iterator[tuple[str, str]]:
        """Stream an answer into the chat; the sources panel follows."""
        from assistant.answering.answer import CitationEvent, Done, TextDelta
        from assistant.errors import ModelError, ModelUnavailable, QuestionError
        from assistant.faces.render import answer_markdown, final_markdown, plain_text, sources_html
        from assistant.faces.viewer import requested_focus, without_briefings

        collection = collection or self.assistant.settings.collection
        focus = requested_focus(message)
        if focus is not None:  # "Brief me (on ...)", typed or retried
            for text, panel, _ in self.briefing(focus, collection):
                yield text, panel
            return
        if not self.ready.is_set():
            self.start_warm_up()
            yield (
                "*Loading the model and documents…*",
                sources_html(None, collection, no_document_text),
            )
            self.ready.wait()
        # As many turns as an API caller may send, each no longer than one of theirs: the
        # chat's history is the session's own, and grows with every message.
        past = list(history or [])
        past = past[max(0, len(past) - self.assistant.settings.max_history_messages) :]
        turns = []
        for m in past:
            if isinstance(m, dict) and m.get("role") in ("user", "assistant"):
                content = m.get("content")
                if isinstance(content, str):
                    content = content[:TURN_CHARS]
                if m["role"] == "assistant" or not isinstance(content, str):
                    content = plain_text(content)[:TURN_CHARS]
                turns.append({"role": m["role"], "content": content})
        turns = without_briefings(turns)
        text = ""
        cites: dict[int, Citation] = {}
        try:
            for event in self.assistant.stream(message, history=turns, collection=collection):
                if isinstance(event, TextDelta):
                    text += event.text
                    yield answer_markdown(text, cites, collection, sign=self.sign), _skip()
                elif isinstance(event, CitationEvent):
                    cites[event.citation.n] = event.citation
                elif isinstance(event, Done):
                    answer = event.answer
                    final = final_markdown(answer, collection, self.sign)
                    panel = sources_html(answer, collection, self._text_of(collection), self.sign)
                    yield final, panel
        except QuestionError as exc:
            yield f"*{_escape(str(exc))}*", _skip()
        except (ModelError, ModelUnavailable) as exc:  # logged where it was raised
            yield f"*The chat model could not answer: {_escape(str(exc))}*", _skip()
        except Exception as exc:
            log.exception("answer failed")
            problem = _escape(f"{type(exc).__name__}: {exc}")
            yield f"*Something went wrong ({problem}).*", _skip()

    # --- briefing ------------------------------------------------------------------------

    def brief_pending(
        self, focus: str, history: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], Any]:
        """The "Brief me" button, at once: the request and a "writing" line in the chat."""
        import gradio as gr

        from assistant.faces.viewer import request_text

        asked = {"role": "user", "content": request_text(focus)}
        writing = {"role": "assistant", "content": WRITING}
        return [*(history or []), asked, writing], gr.update(visible=False)

    def brief(
        self, focus: str, history: list[dict[str, Any]], collection: str
    ) -> tuple[list[dict[str, Any]], Any, Any]:
        """The "Brief me" button, then: the briefing in place of the "writing" line, its quotes
        in the Sources panel, its Markdown export offered for download."""
        import gradio as gr

        from assistant.faces.viewer import write_export

        *_, (text, panel, briefing) = self.briefing(focus, collection)
        download = gr.update(visible=False)
        if briefing is not None and briefing.documents:
            download = gr.update(value=write_export(briefing, self.exports), visible=True)
        return [*(history or [])[:-1], {"role": "assistant", "content": text}], panel, download

    def briefing(self, focus: str | None, collection: str) -> Iterator[tuple[str, Any, Any]]:
        """A briefing of ``collection`` for the chat, as (Markdown, Sources panel, Briefing);
        before it is ready, a line saying what is happening (and no briefing)."""
        from assistant.faces.render import sources_html
        from assistant.faces.viewer import chat_markdown, sources_panel

        collection = collection or self.assistant.settings.collection
        if not self.ready.is_set():
            self.start_warm_up()
            yield (
                "*Loading the model and documents…*",
                sources_html(None, collection, no_document_text),
                None,
            )
            self.ready.wait()
        yield WRITING, _skip(), None
        try:
            briefing = self.assistant.brief(collection, focus=focus or None)
        except ValueError as exc:  # a collection name or focus refused
            yield f"*{_escape(str(exc))}*", _skip(), None
            return
        except Exception as exc:
            log.exception("briefing failed")
            problem = _escape(f"{type(exc).__name__}: {exc}")
            yield f"*Something went wrong ({problem}).*", _skip(), None
            return
        panel = sources_panel(briefing, self._text_of(collection), self.sign)
        yield chat_markdown(briefing, self.sign), panel, briefing

    def _text_of(self, collection: str) -> Callable[[str], str | None]:
        cache: dict[str, str | None] = {}

        def text(doc_id: str) -> str | None:
            if doc_id not in cache:
                record = self.assistant.document(doc_id, collection=collection)
                cache[doc_id] = record.text if record else None
            return cache[doc_id]

        return text

    # --- library -------------------------------------------------------------------------

    def collection_choices(self, extra: str | None = None) -> list[str]:
        names = set(self.assistant.collections()) | {self.assistant.settings.collection}
        if extra:
            names.add(extra)
        return sorted(names)

    def document_rows(self, collection: str) -> list[list[Any]]:
        rows = []
        settings = self.assistant.settings
        for d in self.assistant.documents(collection):
            source = uploads.shown(settings, d.source)
            rows.append([d.title, d.date or "", d.chunk_count, source, d.doc_id])
        return rows

    def on_load(self, collection: str) -> tuple[Any, list[list[Any]], Any, str]:
        """A page opened: the collections menu and the library of the chosen collection.

        The first page shown also starts the warm-up (model, samples): started earlier, it
        would compete with serving the page for the same interpreter and cores.
        """
        import gradio as gr

        self.start_warm_up()
        choices = gr.update(choices=self.collection_choices(extra=collection))
        return (choices, *self.library(collection))

    def library(self, collection: str) -> tuple[list[list[Any]], Any, str]:
        """Documents table, removal choices and a one-line status for ``collection``."""
        import gradio as gr

        rows = self.document_rows(collection)
        chunks = sum(r[2] for r in rows)
        status = (
            f"**{len(rows)}** documents, **{chunks}** passages in *{_escape(collection)}*"
            if rows
            else f"*{_escape(collection)}* is empty: upload documents to ask about them."
        )
        choices = [(f"{r[0]} ({r[4]})", r[4]) for r in rows]
        return rows, gr.update(choices=choices, value=None), status

    def upload(
        self,
        files: list[Any] | None,
        url: str,
        collection: str,
        progress: Any = None,
        uploaded: Container[str] | None = None,
    ) -> tuple[list[list[str]], list[list[Any]], Any, str, None, str]:
        """Copy uploads into the data folder and ingest them (and a URL) into ``collection``.

        ``uploaded``: the paths of the files uploaded through the page (Gradio's record of
        them). Given, a file not among them is refused, and then nothing at all is added: a
        browser sends only what it uploaded, so anything else is a request made by hand to
        read a file of the server. Python callers, who name their own files, leave it out.
        """
        from ingest.loaders.url import is_url

        paths = [Path(getattr(f, "name", f)) for f in files or []]
        url = (url or "").strip()
        if not paths and not url:
            rows, choices, status = self.library(collection)
            nothing = [["", "nothing to add", "choose files or enter a web address"]]
            return nothing, rows, choices, status, None, url
        if uploaded is not None:
            # Looked up, never iterated: Gradio adds to its set from the event loop meanwhile.
            strays = [
                p for p in paths if str(p) not in uploaded and os.path.abspath(p) not in uploaded
            ]
            if strays:
                rows, choices, status = self.library(collection)
                why = "not a file uploaded through this page: refused, and nothing was added"
                refused = [[p.name, "refused", why] for p in strays]
                return refused, rows, choices, status, None, url
        if url and not is_url(url):  # a path here would read the server's own files
            rows, choices, status = self.library(collection)
            refused = [[url, "failed", "not a web address: use one that starts with http(s)://"]]
            return refused, rows, choices, status, None, url
        done: list[FileResult] = []
        total = len(paths) + (1 if url else 0)

        def on_file(result: FileResult) -> None:
            done.append(result)
            if progress is not None:
                progress((min(len(done), total), total), desc=f"{Path(result.source).name}")

        if progress is not None:
            progress((0, total), desc="reading")
        report = uploads.add(
            self.assistant,
            collection,
            [(p.name, p) for p in paths],
            extra=[url] if url else None,
            on_file=on_file,
        )
        results = []
        for r in report.results:
            name = r.source if r.source.startswith("http") else Path(r.source).name
            if r.status == "failed":
                detail = r.reason or "failed"
            elif r.status == "unchanged":
                detail = "already in the collection, unchanged"
            else:
                detail = f"{r.chunks} passage{'' if r.chunks == 1 else 's'}" + (
                    f": {r.title}" if r.title else ""
                )
            results.append([name, r.status, detail])
        rows, choices, status = self.library(collection)
        return results, rows, choices, status, None, ""

    def remove(self, doc_id: str | None, collection: str) -> tuple[list[list[Any]], Any, str]:
        rows, choices, status = self.library(collection)
        if not doc_id:
            return rows, choices, "Choose a document to remove."
        removed = self.assistant.remove(doc_id, collection=collection)
        rows, choices, status = self.library(collection)
        if removed:
            status = f"Removed *{_escape(removed[0].title)}*. " + status
        return rows, choices, status

    def create_collection(self, name: str) -> tuple[Any, str, str]:
        import gradio as gr

        from assistant.settings import check_collection_name

        name = (name or "").strip()
        try:
            check_collection_name(name)
        except ValueError as exc:
            return gr.update(), _escape(str(exc)), name
        return (
            gr.update(choices=self.collection_choices(extra=name), value=name),
            f"Collection *{_escape(name)}* selected: upload documents into it.",
            "",
        )


def _escape(text: str) -> str:
    from assistant.faces.render import escape_markdown

    return escape_markdown(text)


def no_document_text(doc_id: str) -> None:
    """The sources panel's document-text lookup before there is an answer: nothing."""
    return None


def _skip() -> Any:
    import gradio as gr

    return gr.skip()
