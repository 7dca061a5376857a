"""A briefing as Markdown: for export (plain markers and a numbered source list) and, with a
marker function and an escaper, for the web chat (each marker a link to its quote)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from assistant.answering.answer import Citation

if TYPE_CHECKING:  # types only: items imports this module to render itself
    from assistant.briefing.items import Briefing, Statement

Marker = Callable[[Citation], str]


def _plain_marker(citation: Citation) -> str:
    return f"[{citation.n}]"


def _keep(text: str) -> str:
    return text


def briefing_markdown(
    briefing: Briefing,
    marker: Marker = _plain_marker,
    escape: Callable[[str], str] = _keep,
    sources: bool = True,
) -> str:
    """The briefing's sections in order, each item followed by its markers.

    ``marker`` renders one citation's marker and ``escape`` any text taken from a document; the
    defaults give an export with ``[n]`` and the sources listed at the end.
    """
    cites = {c.n: c for c in briefing.citations}

    def marks(numbers: list[int]) -> str:
        return "".join(" " + marker(cites[n]) for n in numbers if n in cites)

    kind = "document" if briefing.documents == 1 else "documents"
    lines = [f"# {escape(briefing.title)}", ""]
    if briefing.written_by == "offline":
        how = "built offline from the documents' own sentences"
    else:
        how = f"written by {escape(briefing.written_by)}, each sentence checked against its source"
    lines.append(f"*{briefing.documents} {kind}; {how}.*")
    if briefing.empty:
        lines += ["", "The documents give nothing to brief on" + _focus_words(briefing) + "."]
        return "\n".join(lines) + "\n"
    if briefing.key_points:
        lines += ["", "## Key points", ""]
        lines += [f"- {escape(p.text)}{marks(p.citations)}" for p in briefing.key_points]
    if briefing.who_said_what:
        lines += ["", "## Who said what", ""]
        for speaker, statements in _by_speaker(briefing.who_said_what):
            lines.append(f"- **{escape(speaker)}**{_who(statements[0], escape)}:")
            lines += [f"  - {escape(_said(s))}{marks(s.citations)}" for s in statements]
    numbers = [f for f in briefing.key_figures if f.kind != "date"]
    if numbers:
        # Dates are figures too (JSON lists them), but they read better on the timeline.
        lines += ["", "## Key figures", ""]
        lines += [
            f"- **{escape(f.value)}**: {escape(f.context)}{marks(f.citations)}" for f in numbers
        ]
    if briefing.timeline:
        lines += ["", "## Timeline", ""]
        lines += [
            f"- **{escape(e.date)}**: {escape(e.text)}{marks(e.citations)}"
            for e in briefing.timeline
        ]
    if briefing.open_questions:
        lines += ["", "## Open questions and disagreements", ""]
        lines += [f"- {escape(p.text)}{marks(p.citations)}" for p in briefing.open_questions]
    if sources and briefing.citations:
        lines += ["", "## Sources", ""]
        for c in briefing.citations:
            where = f", {c.location}" if c.location else ""
            lines.append(f"{c.n}. {escape(c.title)}{escape(where)}: “{escape(c.quote)}”")
    return "\n".join(lines) + "\n"


def _focus_words(briefing: Briefing) -> str:
    return f" on “{briefing.focus}”" if briefing.focus else ""


def _by_speaker(statements: list[Statement]) -> list[tuple[str, list[Statement]]]:
    groups: dict[str, list[Statement]] = {}
    for s in statements:
        groups.setdefault(s.speaker, []).append(s)
    return list(groups.items())


def _who(statement: Statement, escape: Callable[[str], str]) -> str:
    parts = [p for p in (statement.role, statement.affiliation) if p]
    return f", {escape(', '.join(parts))}" if parts else ""


def _said(statement: Statement) -> str:
    return f"“{statement.quote}”" if statement.quoted else statement.quote
