"""``brief``: the command line. A thin face over ``Assistant``; every command has --help."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from tqdm import tqdm

    from assistant.core import Assistant
    from ingest.pipeline import FileResult

EPILOG = """\
commands:
  brief ingest PATH_OR_URL... [--collection NAME] [--prune]
      add files, folders (recursively) and http(s) URLs; unchanged files are skipped
  brief list [--collection NAME] [--json]
      documents with their dates and chunk counts
  brief remove DOC_ID_OR_PATH [--collection NAME]
      remove a document by its id, file path or URL
  brief search "query" [-k N] [--collection NAME] [--json]
      the passages closest in meaning, with scores and locations
  brief ask "question" [--collection NAME] [--json]
      a cited answer, with its sources listed under it (or "the documents don't say")
  brief me [--collection NAME] [--focus TEXT] [--format md|json] [--output FILE]
      a cited briefing of a collection: key points, who said what, key figures, a timeline
      and open questions, each with markers [n] and the sources listed at the end
  brief collections
      collections and how many documents each holds
  brief serve [--host HOST] [--port PORT] [--workers N]
      start the web app and the HTTP API (schema at /openapi.json)
  brief mcp [--http [--host HOST] [--port PORT]]
      serve agents and desktop assistants over the Model Context Protocol: on stdio, or
      with --http at /mcp of the API server (keys and scopes as /api/v1)

Files: .txt .md .html .htm .pdf .docx. Settings come from BRIEF_* environment variables or a
.env file: BRIEF_DATA_DIR (default ./brief-data), BRIEF_COLLECTION (default 'default'),
BRIEF_CHROMA_HOST / BRIEF_CHROMA_PORT (use a Chroma server). Exit status: 0 on success, 1
when some input failed, 2 on a usage error.
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``brief`` (kept separate so tests and docs can inspect it)."""
    parser = argparse.ArgumentParser(
        prog="brief",
        description="Briefing Assistant: cited answers from your own documents.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def collection_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--collection", "-c", metavar="NAME", help="collection (default: BRIEF_COLLECTION)"
        )

    p = sub.add_parser("ingest", help="add files, folders and URLs to a collection")
    p.add_argument(
        "sources", nargs="+", metavar="PATH_OR_URL", help="files, folders or http(s) URLs"
    )
    collection_arg(p)
    p.add_argument(
        "--prune",
        action="store_true",
        help="also remove documents whose files under the given folders no longer exist",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="print only failures and the summary")

    p = sub.add_parser("list", help="list the documents of a collection")
    collection_arg(p)
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("remove", help="remove a document by id, path or URL")
    p.add_argument("target", metavar="DOC_ID_OR_PATH")
    collection_arg(p)

    p = sub.add_parser("search", help="find the passages closest in meaning to a query")
    p.add_argument("query")
    p.add_argument("-k", type=int, default=5, metavar="N", help="number of passages (default 5)")
    collection_arg(p)
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("ask", help="ask a question; get a cited answer")
    p.add_argument("question")
    collection_arg(p)
    p.add_argument("--json", action="store_true", help="print the answer as one JSON object")

    p = sub.add_parser("me", help="a cited briefing of a collection (Markdown or JSON)")
    collection_arg(p)
    p.add_argument("--focus", metavar="TEXT", help='narrow it to a topic, e.g. "export controls"')
    p.add_argument(
        "--format",
        choices=("md", "json"),
        default="md",
        help="md: Markdown with markers [n] and the sources (default); json: every field",
    )
    p.add_argument("--output", "-o", metavar="FILE", help="write it to FILE instead of printing")

    sub.add_parser("collections", help="list collections and their document counts")

    p = sub.add_parser("serve", help="start the web app")
    p.add_argument("--host", help="address to bind (default BRIEF_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default BRIEF_PORT or 7860)")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="answer API questions in N worker processes (the chat and all writes stay in "
        "the main one; with the embedded store a local Chroma server is started for them)",
    )
    p.add_argument("--no-samples", action="store_true", help="do not load the sample documents")

    p = sub.add_parser(
        "mcp", help="serve agents and desktop assistants (Model Context Protocol, stdio)"
    )
    p.add_argument(
        "--http",
        action="store_true",
        help="serve streamable HTTP at /mcp of the API server instead of stdio",
    )
    p.add_argument("--host", help="with --http: address to bind (default BRIEF_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, help="with --http: port (default BRIEF_PORT or 7860)")
    return parser


class _Progress:
    """Progress of an ingest: a live bar on a terminal, plain lines otherwise."""

    def __init__(self, total: int, stream: TextIO, quiet: bool) -> None:
        self.stream = stream
        self.quiet = quiet
        self.started = time.perf_counter()
        self.chunks = 0
        self.tokens = 0
        self.bar: tqdm[Any] | None = None
        if stream.isatty() and not quiet:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="file", file=stream, dynamic_ncols=True)

    def file(self, result: FileResult) -> None:
        line: str | None = _result_line(result)
        if result.status in ("skipped",) or (self.quiet and result.status != "failed"):
            line = None
        if self.bar is not None:
            if line:
                self.bar.write(line, file=self.stream)
            if result.status != "skipped":
                self.bar.update(1)
        elif line:
            print(line, file=self.stream, flush=True)

    def chunk_batch(self, chunks: int, tokens: int) -> None:
        self.chunks += chunks
        self.tokens += tokens
        elapsed = max(time.perf_counter() - self.started, 1e-6)
        if self.bar is not None:
            self.bar.set_postfix_str(f"{self.chunks} chunks, {self.tokens / elapsed:,.0f} tok/s")
        elif not self.quiet:
            print(
                f"  … {self.chunks} chunks embedded ({self.tokens / elapsed:,.0f} tokens/s)",
                file=self.stream,
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _result_line(result: FileResult) -> str:
    if result.status == "ingested":
        return f"ingested   {result.source}  ({result.chunks} chunks) [{result.doc_id}]"
    if result.status == "unchanged":
        return f"unchanged  {result.source}  (already indexed, nothing embedded)"
    if result.status == "removed":
        return f"removed    {result.source}  ({result.reason})"
    if result.status == "skipped":
        return f"skipped    {result.source}  ({result.reason})"
    return f"failed     {result.source}: {result.reason}"


def _count_inputs(sources: Sequence[str]) -> int:
    from ingest.loaders import is_supported

    total = 0
    for src in sources:
        if os.path.isdir(src):
            for _root, dirs, files in os.walk(src):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                total += sum(1 for f in files if not f.startswith(".") and is_supported(f))
        else:
            total += 1
    return total


def cmd_ingest(args: argparse.Namespace, assistant: Assistant) -> int:
    progress = _Progress(_count_inputs(args.sources), sys.stderr, args.quiet)
    try:
        report = assistant.ingest(
            args.sources,
            collection=args.collection,
            prune=args.prune,
            on_file=progress.file,
            on_chunks=progress.chunk_batch,
        )
    finally:
        progress.close()
    if report.recovered:
        print(f"recovered  {report.recovered} unfinished write(s) from an interrupted run")
    print(report.summary())
    return 0 if report.ok else 1


def cmd_list(args: argparse.Namespace, assistant: Assistant) -> int:
    docs = assistant.documents(args.collection)
    if args.json:
        rows = [d.summary() for d in docs]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not docs:
        print(f"no documents in collection {args.collection or assistant.settings.collection!r}")
        return 0
    print(f"{'ID':16}  {'DATE':10}  {'CHUNKS':>6}  TITLE / SOURCE")
    for d in docs:
        print(f"{d.doc_id:16}  {d.date or '-':10}  {d.chunk_count:>6}  {d.title}")
        print(f"{'':16}  {'':10}  {'':>6}  {d.source}")
    print(f"{len(docs)} document(s), {sum(d.chunk_count for d in docs)} chunks")
    return 0


def cmd_remove(args: argparse.Namespace, assistant: Assistant) -> int:
    removed = assistant.remove(args.target, collection=args.collection)
    if not removed:
        print(f"no document matches {args.target!r}", file=sys.stderr)
        return 1
    for d in removed:
        print(f"removed    {d.source}  ({d.chunk_count} chunks) [{d.doc_id}]")
    return 0


def cmd_search(args: argparse.Namespace, assistant: Assistant) -> int:
    if args.k < 1:
        print("error: -k must be at least 1", file=sys.stderr)
        return 2
    passages = assistant.search(args.query, k=args.k, collection=args.collection)
    if args.json:
        print(json.dumps([p.to_dict() for p in passages], indent=2, ensure_ascii=False))
        return 0
    if not passages:
        print("no passages found (is the collection empty?)")
        return 0
    for rank, p in enumerate(passages, start=1):
        print(f"[{rank}] {p.score:.3f}  {p.title} — {p.location}")
        print(f"    {p.source}")
        print("    " + p.text.replace("\n", "\n    "))
        print()
    return 0


def cmd_ask(args: argparse.Namespace, assistant: Assistant) -> int:
    answer = assistant.ask(args.question, collection=args.collection)
    if args.json:
        # The answer's serialiser, compact: text, short answer, abstained, citations (their
        # CITATION_FIELDS), related, timings, sentences, dropped.
        print(json.dumps(answer.to_dict(compact=True), indent=2, ensure_ascii=False))
        return 0
    if answer.short:
        print(f"Answer: {answer.short}  [{answer.short_citation}]\n")
    print(answer.text)
    if answer.citations:
        print("\nSources:")
        for c in answer.citations:
            flag = "" if c.supported else "  (not supported by this passage)"
            print(f"[{c.n}] {c.title} — {c.location}{flag}")
            print(f"    “{c.quote}”")
            print(f"    {c.source}")
    if answer.related:
        print("\nClosest passages found:")
        for p in answer.related:
            print(f"- {p.title} — {p.location}")
            print(f"    {p.text[:300]}{'…' if len(p.text) > 300 else ''}")
    if answer.dropped:  # a chat model's sentences that failed the checks: said, never shown
        reasons = ", ".join(sorted({d.reason for d in answer.dropped}))
        print(
            f"note: {len(answer.dropped)} sentence(s) of the chat model's reply left out "
            f"({reasons}; --json lists them as 'dropped')",
            file=sys.stderr,
        )
    return 0


def cmd_me(args: argparse.Namespace, assistant: Assistant) -> int:
    from assistant.faces.viewer import briefing_json

    briefing = assistant.brief(args.collection, focus=args.focus)
    if args.format == "json":
        text = json.dumps(briefing_json(briefing), indent=2, ensure_ascii=False) + "\n"
    else:
        text = briefing.to_markdown()
    if briefing.documents == 0:
        print(
            f"collection {briefing.collection!r} has no documents: nothing to brief on "
            f"(add some with: brief ingest PATH --collection {briefing.collection})",
            file=sys.stderr,
        )
    elif briefing.empty:
        on = f" on {briefing.focus!r}" if briefing.focus else ""
        print(f"the documents give nothing to brief on{on}", file=sys.stderr)
    if not args.output:
        sys.stdout.write(text)
        return 0
    try:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        print(f"error: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(
        f"wrote {args.output}: {briefing.title}, {len(briefing.citations)} source quote(s)",
        file=sys.stderr,
    )
    return 0


def cmd_collections(args: argparse.Namespace, assistant: Assistant) -> int:
    cols = assistant.collections()
    if not cols:
        print("no collections yet")
    for name, n in cols.items():
        print(f"{name:24} {n} document(s)")
    return 0


def cmd_serve(args: argparse.Namespace, assistant: Assistant) -> int:
    from assistant.faces.serve import serve

    serve(
        assistant,
        host=args.host,
        port=args.port,
        samples=not args.no_samples,
        workers=args.workers,
    )
    return 0


def cmd_mcp(args: argparse.Namespace, assistant: Assistant) -> int:
    from assistant.faces.serve import serve_mcp

    if (args.host or args.port) and not args.http:
        print("error: --host and --port go with --http", file=sys.stderr)
        return 2
    serve_mcp(assistant, http=args.http, host=args.host, port=args.port)
    return 0


COMMANDS = {
    "ingest": cmd_ingest,
    "list": cmd_list,
    "remove": cmd_remove,
    "search": cmd_search,
    "ask": cmd_ask,
    "me": cmd_me,
    "collections": cmd_collections,
    "serve": cmd_serve,
    "mcp": cmd_mcp,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``brief``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from assistant import __version__

        print(f"brief {__version__}")
        return 0
    if not args.command:
        parser.print_help()
        return 2
    from pydantic import ValidationError

    from assistant.core import Assistant
    from assistant.faces.errors import DOMAIN_ERRORS, exit_code

    try:
        assistant = Assistant()
        return COMMANDS[args.command](args, assistant)
    except ValidationError as exc:
        print(f"error: invalid setting: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    except DOMAIN_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exit_code(exc) or 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
