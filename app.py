"""The web chat: Gradio over ``Assistant``, with sources, a document viewer and a library.

``python app.py`` (or ``brief serve``) serves it on http://127.0.0.1:7860. The page is up
within seconds: the embedding model loads, and the bundled samples are ingested into an empty
store, in the background. Answers stream into the chat; every marker [n] and every source card
links to ``/view/...``, our own page over the stored cleaned text with the quote highlighted,
which opens in a side panel. Documents are uploaded (several at once, drag and drop) into the
current collection; collections are created and switched from the library tab.

Nothing leaves the machine: analytics are off, fonts are the system's, nothing comes from a CDN.
Everything from a document or a model is escaped (``assistant/faces/render.py``).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Nothing may call out at start: no analytics, no hub look-ups, loopback never proxied.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
for _var in ("NO_PROXY", "no_proxy"):
    _hosts = [h for h in os.environ.get(_var, "").split(",") if h]
    os.environ[_var] = ",".join(dict.fromkeys([*_hosts, "127.0.0.1", "localhost"]))

from assistant.faces import uploads  # noqa: E402 - after the environment above
from assistant.faces.access import view_signer  # noqa: E402

SAMPLES_DIR = Path(__file__).resolve().parent / "assistant" / "samples"
#: Questions the sample documents answer, offered on an empty chat.
EXAMPLES = [
    "How long did the Port Calder strike last?",
    "How many jobs will the Kestrel expansion create?",
    "How much new investment does the Westmere water utility need?",
    "What did Ingrid Halvorsen say about the settlement?",
]
#: Seconds after the server listens before it warms up with no page open (a page starts it).
WARM_UP_DELAY_S = 10.0
UPLOAD_TYPES = [".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"]
#: Where the "Brief me" Markdown exports are written for download (Gradio serves the temp dir).
EXPORTS = Path(tempfile.gettempdir()) / "briefing-exports"
WRITING = "*Writing the briefing…*"

#: A briefing is long, and the chat scrolls to its end (300 ms after a change): once it has
#: replaced the "writing" line and the chat has scrolled, show its beginning instead.
SHOW_BRIEFING_START = """() => {
  const until = Date.now() + 10000;
  const look = () => {
    const all = document.querySelectorAll("#ba-chat [data-testid='bot']");
    const last = all[all.length - 1], box = last && last.closest(".bubble-wrap");
    if (!box || /^(Writing|Loading)/.test(last.innerText.trim())) {
      if (Date.now() < until) setTimeout(look, 100);
    } else if (last.querySelector("h1")) {
      const asked = [...document.querySelectorAll("#ba-chat [data-testid='user']")].pop();
      const start = () => (asked || last).getBoundingClientRect().top;
      setTimeout(() => { box.scrollTop += start() - box.getBoundingClientRect().top - 44; }, 700);
    }
  };
  look();
}"""

log = logging.getLogger("briefing.app")

STATIC = Path(__file__).resolve().parent / "assistant" / "faces" / "web" / "static"
#: chat.js opens a marker or source link in a side panel (a new tab with a modifier key, or
#: without scripts: the links are ordinary links); chat.css is the page's look.
HEAD = "<script>\n" + (STATIC / "chat.js").read_text() + "</script>\n"
CSS_PATHS = [STATIC / "chat.css"]


def load_samples(assistant: Any) -> Any:
    """Ingest the bundled sample documents when the default collection is empty."""
    if assistant.documents():
        return None
    return assistant.ingest([SAMPLES_DIR])


class ChatApp:
    """The page's behaviour, separate from its layout so that each part can be tested."""

    def __init__(self, assistant: Any, samples: bool = True) -> None:
        self.assistant = assistant
        self.samples = samples
        #: Signs the chat's links to the viewer (with API keys set, the viewer wants them).
        self.sign = view_signer(assistant.settings)
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
                # A question of the usual path (not an overview one, which loads no model):
                # the model, Chroma and the word index are ready before the first real one.
                self.assistant.ask("Who is quoted in these documents?", collection=collection)
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
        from assistant.answering.responder import QuestionError
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
            yield "*Loading the model and documents…*", sources_html(None, collection, _none)
            self.ready.wait()
        turns = []
        for m in history or []:
            if isinstance(m, dict) and m.get("role") in ("user", "assistant"):
                content = m.get("content")
                if m["role"] == "assistant" or not isinstance(content, str):
                    content = plain_text(content)
                turns.append({"role": m["role"], "content": content})
        turns = without_briefings(turns)
        text, cites = "", {}
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
            download = gr.update(value=write_export(briefing, EXPORTS), visible=True)
        return [*(history or [])[:-1], {"role": "assistant", "content": text}], panel, download

    def briefing(self, focus: str | None, collection: str) -> Iterator[tuple[str, Any, Any]]:
        """A briefing of ``collection`` for the chat, as (Markdown, Sources panel, Briefing);
        before it is ready, a line saying what is happening (and no briefing)."""
        from assistant.faces.render import sources_html
        from assistant.faces.viewer import chat_markdown, sources_panel

        collection = collection or self.assistant.settings.collection
        if not self.ready.is_set():
            self.start_warm_up()
            yield "*Loading the model and documents…*", sources_html(None, collection, _none), None
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

    def _text_of(self, collection: str) -> Any:
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
        self, files: list[Any] | None, url: str, collection: str, progress: Any = None
    ) -> tuple[list[list[str]], list[list[Any]], Any, str, None, str]:
        """Copy uploads into the data folder and ingest them (and a URL) into ``collection``."""
        from ingest.loaders.url import is_url

        paths = [Path(getattr(f, "name", f)) for f in files or []]
        url = (url or "").strip()
        if not paths and not url:
            rows, choices, status = self.library(collection)
            nothing = [["", "nothing to add", "choose files or enter a web address"]]
            return nothing, rows, choices, status, None, url
        if url and not is_url(url):  # a path here would read the server's own files
            rows, choices, status = self.library(collection)
            refused = [[url, "failed", "not a web address: use one that starts with http(s)://"]]
            return refused, rows, choices, status, None, url
        done: list[Any] = []
        total = len(paths) + (1 if url else 0)

        def on_file(result: Any) -> None:
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


def _after_listening(host: str, port: int, then: Any, delay: float = 0.0) -> None:
    """Call ``then()`` ``delay`` seconds after something accepts connections on ``host:port``."""
    timeout = 120.0
    import socket

    target = "127.0.0.1" if host in ("0.0.0.0", "") else host
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((target, port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.05)
    time.sleep(delay)
    then()


def _escape(text: str) -> str:
    from assistant.faces.render import escape_markdown

    return escape_markdown(text)


def _none(doc_id: str) -> None:
    return None


def _skip() -> Any:
    import gradio as gr

    return gr.skip()


def build_ui(chat: ChatApp) -> Any:
    """The Gradio Blocks of the page."""
    import gradio as gr

    from assistant.faces.render import sources_html

    default = chat.assistant.settings.collection
    # Gradio keeps a copy of every file it serves or receives (uploads are copied into the
    # data folder at once): each hour, drop those older than a day.
    with gr.Blocks(
        title="Briefing Assistant", fill_width=True, delete_cache=(3600, 24 * 3600)
    ) as ui:
        with gr.Row(equal_height=True):
            with gr.Column(scale=3, min_width=300):
                gr.Markdown(
                    "# Briefing Assistant\nAnswers from your documents, every claim cited.",
                    elem_id="ba-title",
                )
            collection = gr.Dropdown(
                choices=[default],  # the others are listed once the page has loaded
                value=default,
                label="Collection",
                interactive=True,
                scale=0,
                min_width=200,
                elem_id="ba-collection",
            )
        sources = gr.HTML(sources_html(None, default, _none), render=False, elem_id="ba-sources")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=340):
                conversation = gr.ChatInterface(
                    chat.respond,
                    chatbot=gr.Chatbot(
                        height="68vh",
                        min_height=360,
                        label="Chat",
                        elem_id="ba-chat",
                        buttons=["copy"],
                        feedback_options=None,
                        placeholder=(
                            "**Ask about your documents.** Every answer quotes its sources; "
                            "click a marker like [1] to see the words in the document. "
                            "Add your own files under *Documents*."
                        ),
                    ),
                    textbox=gr.Textbox(
                        placeholder="Ask a question about your documents…",
                        show_label=False,
                        elem_id="ba-question",
                        submit_btn="Ask",
                        stop_btn="Stop",
                    ),
                    additional_inputs=[collection],
                    additional_outputs=[sources],
                    examples=[[q] for q in EXAMPLES],
                    run_examples_on_click=True,
                    cache_examples=False,
                    fill_height=False,
                    autofocus=True,
                    api_name="ask",
                )
                with gr.Row(equal_height=True, elem_id="ba-brief-row"):
                    focus = gr.Textbox(
                        placeholder="Focus (optional)",
                        show_label=False,
                        container=False,
                        max_length=chat.assistant.settings.max_question_chars,
                        scale=3,
                        elem_id="ba-focus",
                    )
                    brief = gr.Button(
                        "Brief me", size="md", scale=1, min_width=100, elem_id="ba-brief"
                    )
                    download = gr.DownloadButton(
                        "Download .md",
                        visible=False,
                        size="md",
                        scale=1,
                        min_width=100,
                        elem_id="ba-brief-download",
                    )
            with gr.Column(scale=2, min_width=320), gr.Tabs():
                with gr.Tab("Sources", elem_id="ba-sources-tab"):
                    sources.render()
                with gr.Tab("Documents", elem_id="ba-documents-tab"):
                    status = gr.Markdown(elem_id="ba-status")
                    files = gr.File(
                        label="Drop PDF, Word, HTML, Markdown or text files to add them",
                        file_count="multiple",
                        file_types=UPLOAD_TYPES,
                        elem_id="ba-upload",
                    )
                    with gr.Row(equal_height=True):
                        url = gr.Textbox(
                            label="…or a web page",
                            placeholder="https://example.org/article",
                            elem_id="ba-url",
                            scale=3,
                        )
                        add = gr.Button("Add", variant="primary", elem_id="ba-add", scale=1)
                    results = gr.Dataframe(
                        headers=["file", "result", "detail"],
                        label="Last upload",
                        interactive=False,
                        wrap=True,
                        elem_id="ba-results",
                    )
                    table = gr.Dataframe(
                        headers=["title", "date", "passages", "source", "id"],
                        label="Documents in this collection",
                        interactive=False,
                        wrap=True,
                        elem_id="ba-documents",
                    )
                    with gr.Row():
                        doomed = gr.Dropdown(
                            label="Remove a document", choices=[], scale=3, elem_id="ba-doomed"
                        )
                        remove = gr.Button(
                            "Remove", variant="stop", scale=1, min_width=90, elem_id="ba-remove"
                        )
                    with gr.Row():
                        new_name = gr.Textbox(
                            label="New collection",
                            placeholder="letters, digits, - or _",
                            scale=3,
                            elem_id="ba-new-collection",
                        )
                        create = gr.Button("Create", scale=1, min_width=90, elem_id="ba-create")

        # The briefing goes into the chat through chatbot_value, which ChatInterface offers for
        # changing the conversation from outside (it keeps its own history in step). It is set
        # once: several quick changes of it can reach the chat out of order.
        quiet: dict[str, Any] = {"api_visibility": "undocumented"}
        for trigger in (brief.click, focus.submit):
            trigger(
                chat.brief_pending,
                [focus, conversation.chatbot],
                [conversation.chatbot, download],
                queue=False,
                **quiet,
            ).then(
                chat.brief,
                [focus, conversation.chatbot, collection],
                [conversation.chatbot_value, sources, download],
                **quiet,
            ).then(None, js=SHOW_BRIEFING_START, **quiet)

        def upload(files, url, collection, progress=gr.Progress()):  # noqa: B008
            return chat.upload(files, url, collection, progress)

        # Dropped or chosen files are added at once; a web address with Add or Enter.
        adding = {
            "fn": upload,
            "inputs": [files, url, collection],
            "outputs": [results, table, doomed, status, files, url],
        }
        files.upload(**adding, api_name="add_documents")
        add.click(**adding, api_visibility="undocumented")
        url.submit(**adding, api_visibility="undocumented")
        remove.click(
            chat.remove,
            inputs=[doomed, collection],
            outputs=[table, doomed, status],
            api_name="remove_document",
        )
        create.click(
            chat.create_collection,
            inputs=new_name,
            outputs=[collection, status, new_name],
            api_visibility="undocumented",
        )
        collection.change(
            chat.library,
            inputs=collection,
            outputs=[table, doomed, status],
            api_visibility="undocumented",
        ).then(
            lambda c: sources_html(None, c, _none),
            inputs=collection,
            outputs=sources,
            api_visibility="undocumented",
        )
        ui.load(
            chat.on_load,
            inputs=collection,
            outputs=[collection, table, doomed, status],
            api_visibility="undocumented",
        )
    return ui


def theme() -> Any:
    """The default look with the system's fonts (no web fonts: nothing loads from elsewhere)."""
    import gradio as gr

    return gr.themes.Soft(
        font=["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
    )


def make_app(assistant: Any = None, samples: bool = True) -> tuple[Any, ChatApp]:
    """The FastAPI app with the chat mounted at ``/``; ``chat.start_warm_up`` is left to the
    caller (and to the first page that opens)."""
    import gradio as gr

    from assistant import Assistant
    from assistant.faces.http.server import create_app

    assistant = assistant or Assistant()
    chat = ChatApp(assistant, samples=samples)
    app = create_app(assistant, ready=chat.ready.is_set)
    guard = app.state.guard
    app = gr.mount_gradio_app(
        app,
        build_ui(chat),
        path="/",
        # With API keys set, the chat (which can also add and remove documents) asks for an
        # admin key at sign-in; without keys the server keeps to loopback (``serve``).
        auth=None if guard.open else _admin_sign_in(guard),
        auth_message="Sign in with an admin API key as the password (any user name).",
        footer_links=[],
        theme=theme(),
        css_paths=CSS_PATHS,
        head=HEAD,
        max_file_size=assistant.settings.max_file_bytes,
        show_error=True,
    )
    return app, chat


def _admin_sign_in(guard: Any) -> Any:
    def check(user: str, password: str) -> bool:
        return guard.scope_of(f"Bearer {password}") == "admin"

    return check


def serve(
    assistant: Any = None,
    host: str | None = None,
    port: int | None = None,
    samples: bool = True,
    workers: int = 1,
) -> None:
    """Serve the app until interrupted; with ``workers`` > 1, questions from the API are
    answered by that many worker processes (``assistant/faces/http/workers.py``)."""
    import uvicorn

    from assistant import Assistant
    from assistant.faces.http.arenas import limit_malloc_arenas
    from ingest.locking import ServeLock

    started = time.perf_counter()
    assistant = assistant or Assistant()
    settings = assistant.settings
    limit_malloc_arenas(settings.malloc_arena_max)  # before the server's threads start
    host = _bind_address(settings, host or settings.host)
    port = port or settings.port
    lock = None if settings.uses_chroma_server else ServeLock(settings.data_dir).acquire()
    pool = None
    try:
        if workers > 1:
            from assistant.faces.http.workers import Pool, worker_env

            logs = settings.data_dir / "logs"
            logs.mkdir(parents=True, exist_ok=True)
            pool = Pool(logs)
            chroma_port = None
            if not settings.uses_chroma_server:
                # One process owns the embedded store's files: a Chroma server all share.
                chroma_port = pool.start_chroma(settings.chroma_dir)
                settings = settings.model_copy(
                    update={"chroma_host": "127.0.0.1", "chroma_port": chroma_port}
                )
                assistant = Assistant(settings)
            pool.start_workers(workers, worker_env(settings, chroma_port, workers))
        app, chat = make_app(assistant, samples=samples)
        if pool is not None:
            from starlette.middleware import Middleware

            from assistant.faces.http.workers import Forwarder

            # Innermost: the origin check (assistant/faces/http/server.py:OriginGate) runs first.
            app.user_middleware.append(
                Middleware(Forwarder, ports=pool.ports, guard=app.state.guard)
            )
        # The first page opened starts the warm-up; if none opens soon after the server
        # listens, it starts anyway, so that the samples are in and the model loaded when
        # one does.
        threading.Thread(
            target=_after_listening,
            args=(host, port, chat.start_warm_up, WARM_UP_DELAY_S),
            daemon=True,
        ).start()
        took = time.perf_counter() - started
        extra = f", {workers} workers answering the API" if pool is not None else ""
        print(
            f"Briefing Assistant on http://{host}:{port} (built in {took:.1f} s{extra})",
            flush=True,
        )
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        if pool is not None:
            pool.stop()
        if lock is not None:
            lock.release()


def _bind_address(settings: Any, host: str) -> str:
    """Without API keys, loopback only unless BRIEF_ALLOW_OPEN; says which, at start."""
    if settings.api_keys:
        return host
    if host not in ("127.0.0.1", "localhost", "::1") and not settings.allow_open:
        print(
            f"No API keys are set (BRIEF_API_KEYS): serving on 127.0.0.1 only, not {host}. "
            "Set keys, or BRIEF_ALLOW_OPEN=true to serve openly anyway.",
            flush=True,
        )
        return "127.0.0.1"
    if host in ("127.0.0.1", "localhost", "::1"):
        print("No API keys are set (BRIEF_API_KEYS): serving on this machine only.", flush=True)
    else:
        print(
            f"No API keys are set and BRIEF_ALLOW_OPEN is on: anyone who reaches {host} "
            "may use everything.",
            flush=True,
        )
    return host


if __name__ == "__main__":
    from ingest.locking import StoreBusy

    try:
        serve()
    except StoreBusy as exc:
        raise SystemExit(f"error: {exc}") from None
