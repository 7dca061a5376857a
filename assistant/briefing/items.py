"""What a briefing is: sections of items, each item carrying verified citations like answers do.

A ``Briefing`` holds five sections (key points, who said what, key figures, a timeline, open
questions) and one list of ``Citation``s numbered 1..n in order of first use. Every item names
the citation numbers that support it; every citation's ``quote`` is the document's own text at
``[start, end)``, checked when the briefing is built.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.answering.answer import Citation
from assistant.briefing.as_markdown import briefing_markdown


@dataclass
class Point:
    """A key point or an open question: one or two sentences, with their markers."""

    text: str
    citations: list[int] = field(default_factory=list)


@dataclass
class Statement:
    """Something a named person or body said, quoted or reported, and who they are."""

    speaker: str
    quote: str
    #: True when ``quote`` holds the speaker's own words in quotation marks.
    quoted: bool
    affiliation: str | None = None
    role: str | None = None
    citations: list[int] = field(default_factory=list)


@dataclass
class Figure:
    """An amount, percentage, count or date, with what it measures."""

    value: str
    #: "amount", "percent", "count" or "date".
    kind: str
    #: What the figure is of, in the source's words ("Stargate project"), or "".
    measures: str
    #: The sentence that holds the figure, or its clause when the sentence is long.
    context: str
    citations: list[int] = field(default_factory=list)


@dataclass
class Event:
    """A dated event of the timeline."""

    #: The date as the source gives it ("late 2023", "14 March 2026").
    date: str
    #: A sortable form: "2023", "2023-10", "2026-03-14".
    sort_key: str
    text: str
    citations: list[int] = field(default_factory=list)


@dataclass
class Briefing:
    """A short cited briefing of a collection, optionally narrowed to a focus."""

    collection: str
    focus: str | None
    documents: int
    key_points: list[Point] = field(default_factory=list)
    who_said_what: list[Statement] = field(default_factory=list)
    key_figures: list[Figure] = field(default_factory=list)
    timeline: list[Event] = field(default_factory=list)
    open_questions: list[Point] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    #: "offline" (the sources' own sentences) or the chat model's name.
    written_by: str = "offline"
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def title(self) -> str:
        """ "Briefing: <collection>", with the focus when there is one."""
        what = f"Briefing: {self.collection}"
        return f"{what} — {self.focus}" if self.focus else what

    @property
    def empty(self) -> bool:
        """True when nothing was found to brief on."""
        return not (
            self.key_points
            or self.who_said_what
            or self.key_figures
            or self.timeline
            or self.open_questions
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data, for JSON."""
        data = asdict(self)
        data["title"] = self.title
        return data

    def to_markdown(self) -> str:
        """The briefing as a Markdown document with markers [n] and its sources at the end."""
        return briefing_markdown(self)
