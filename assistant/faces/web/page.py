"""The web chat's page: the Gradio Blocks (chat, sources panel, library tab), its look, and the
FastAPI app that carries it at ``/`` beside the HTTP API.

Nothing leaves the machine: analytics are off, fonts are the system's, nothing comes from a CDN.
Everything from a document or a model is escaped (``assistant/faces/render.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.faces.web.chat import ChatApp, no_document_text

if TYPE_CHECKING:
    from collections.abc import Callable

    import gradio as gr
    from fastapi import FastAPI

    from assistant.core import Assistant
    from assistant.faces.access import Guard

#: Questions the sample documents answer, offered on an empty chat.
EXAMPLES = [
    "How long did the Port Calder strike last?",
    "How many jobs will the Kestrel expansion create?",
    "How much new investment does the Westmere water utility need?",
    "What did Ingrid Halvorsen say about the settlement?",
]
UPLOAD_TYPES = [".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"]

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

STATIC = Path(__file__).resolve().parent / "static"
#: chat.js opens a marker or source link in a side panel (a new tab with a modifier key, or
#: without scripts: the links are ordinary links); chat.css is the page's look.
HEAD = "<script>\n" + (STATIC / "chat.js").read_text() + "</script>\n"
CSS_PATHS = [STATIC / "chat.css"]


def build_ui(chat: ChatApp) -> gr.Blocks:
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
        sources = gr.HTML(
            sources_html(None, default, no_document_text), render=False, elem_id="ba-sources"
        )
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

        def upload(
            files: list[Any] | None,
            url: str,
            collection: str,
            progress: Any = gr.Progress(),  # noqa: B008  (how Gradio passes a progress bar)
        ) -> tuple[list[list[str]], list[list[Any]], Any, str, None, str]:
            # Only what this page uploaded (Gradio records it): not any path a request names.
            return chat.upload(files, url, collection, progress, uploaded=ui.upload_file_set)

        # Dropped or chosen files are added at once; a web address with Add or Enter.
        adding: dict[str, Any] = {
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
            lambda c: sources_html(None, c, no_document_text),
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


def theme() -> gr.themes.Base:
    """The default look with the system's fonts (no web fonts: nothing loads from elsewhere)."""
    import gradio as gr

    return gr.themes.Soft(
        font=["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
    )


def make_app(assistant: Assistant | None = None, samples: bool = True) -> tuple[FastAPI, ChatApp]:
    """The FastAPI app with the chat mounted at ``/``; ``chat.start_warm_up`` is left to the
    caller (and to the first page that opens)."""
    import gradio as gr

    from assistant import Assistant
    from assistant.faces.http.server import create_app

    assistant = assistant or Assistant()
    chat = ChatApp(assistant, samples=samples)
    app = create_app(assistant, ready=chat.ready.is_set)
    guard = app.state.guard
    ui = build_ui(chat)
    app = gr.mount_gradio_app(
        app,
        ui,
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
        allowed_paths=[str(chat.exports)],  # the briefings' exports, in the data dir
    )
    # Gradio refuses a file input whose path is not in its upload folder only for an app it
    # launched (processing_utils._check_allowed); mounted, it would copy any file of the
    # server named in a request into its cache before a handler runs. Counted as launched,
    # such a request fails before anything is read ("it was not uploaded by a user"), and the
    # chat refuses what is in that folder but was not uploaded through it (ChatApp.upload).
    ui.has_launched = True
    return app, chat


def _admin_sign_in(guard: Guard) -> Callable[[str, str], bool]:
    def check(user: str, password: str) -> bool:
        return guard.scope_of(f"Bearer {password}") == "admin"

    return check
