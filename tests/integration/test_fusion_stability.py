"""Unrelated documents change nothing: questions about one article keep their cited sentence,
and their passage stays in the top 3 of search, when 1, 10 and 300 unrelated documents (one-line
notes and made-up research abstracts) join the collection. A metamorphic test of how retrieval
mixes meaning and words: a score standardised over the candidate pool moved with every
unrelated chunk that entered it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from assistant.core import Assistant
from assistant.settings import Settings
from tests.data.abstracts import abstracts

#: Questions about the article, each with words of the sentence that answers it (also the
#: words that identify the chunk holding that sentence).
QUESTIONS = [
    ("Which engines did Kestrel use?", "M40 engines"),
    ("Who founded Kestrel?", "Priya Raman"),
    ("How much did KX1 reportedly cost to develop?", "$18.5 million"),
    ("What did Helena Ward say about Kestrel?", "Kitty Hawk moment"),
    ("Where is Kestrel based?", "Pune"),
    ("How big is Brandt's Skyway project?", "$40 billion"),
    ("Who said that European export rules are ineffective?", "Lindqvist added"),
    ("What did Feld say about KX2's development costs?", "historical trends"),
]

#: Questions in other words than the article's ("utilize" for "used", "think tank" for
#: "institute"): meaning carries them. Z-scores over the pool moved the place of the M40 chunk
#: for the first (second with the article alone, third with 10 notes, second again with 300).
PARAPHRASES = [
    ("Which engines did the company utilize?", "M40 engines"),
    ("Which think tank is Marcus Feld from?", "Corbett Institute"),
    ("Which university is Tobias Lindqvist affiliated with?", "Uppsala University"),
    ("What did Helena Ward compare Kestrel's rise to?", "Kitty Hawk moment"),
]

#: One-line notes of the kind people keep beside their reading.
NOTES = [
    "Note: the canteen closes at 3pm on Fridays.",
    "Reminder: the fire drill is on Tuesday at 10am.",
    "The printer on the second floor is out of toner again.",
    "Parking permits must be renewed before the end of March.",
    "Team lunch moved to Thursday because of the public holiday.",
    "Call the plumber about the leaking tap in the kitchen.",
    "The quarterly budget review starts at 9am in room 4.",
    "Bring the signed forms to reception by Monday.",
    "The Wi-Fi password changes on the first of every month.",
    "Pick up the dry cleaning on the way home.",
]

#: How many unrelated documents each step adds up to, after the article alone (0).
STEPS = (1, 10, 300)


@dataclass(frozen=True)
class Seen:
    """What a user sees for one question: the top 3 passages of search and the first cited
    sentence of the answer (None when it abstained)."""

    top3: tuple[str, ...]
    cited: tuple[str, int, int, str] | None


def _unrelated(folder: Path, n: int) -> list[Path]:
    """``n`` unrelated documents: the notes first (so a single added document is a one-line
    note), then abstracts."""
    folder.mkdir()
    paths = []
    for i, note in enumerate(NOTES[:n]):
        path = folder / f"note-{i:02d}.txt"
        path.write_text(note + "\n")
        paths.append(path)
    for item in abstracts(max(0, n - len(NOTES))):
        path = folder / f"{item.id}.txt"
        path.write_text(f"{item.title}\n\n{item.text}\n")
        paths.append(path)
    return paths


def _observe(a: Assistant) -> dict[str, Seen]:
    seen = {
        q: Seen(top3=tuple(p.text for p in a.search(q, k=3)), cited=None) for q, _ in PARAPHRASES
    }
    for question, _ in QUESTIONS:
        top3 = tuple(p.text for p in a.search(question, k=3))
        answer = a.ask(question)
        first = answer.citations[0] if answer.citations and not answer.abstained else None
        cited = (first.doc_id, first.start, first.end, first.quote) if first else None
        seen[question] = Seen(top3=top3, cited=cited)
    return seen


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, Seen]]:
    """What the questions get with the article alone (0) and after each step, in one store
    that grows (the same documents, in the same order, on every run)."""
    from tests.conftest import ARTICLE

    root = tmp_path_factory.mktemp("fusion")
    a = Assistant(Settings(data_dir=root / "data"))
    a.ingest([ARTICLE])
    others = _unrelated(root / "unrelated", STEPS[-1])
    out = {0: _observe(a)}
    added = 0
    for step in STEPS:
        report = a.ingest(others[added:step])
        assert report.ok, report.summary()
        added = step
        assert len(a.documents()) == 1 + step
        out[step] = _observe(a)
    return out


@pytest.mark.parametrize(("question", "expected"), QUESTIONS)
def test_the_answering_passage_stays_in_the_top_3(
    observed: dict[int, dict[str, Seen]], question: str, expected: str
) -> None:
    for step, seen in observed.items():
        top3 = seen[question].top3
        assert any(expected in text for text in top3), (step, [t[:80] for t in top3])


@pytest.mark.parametrize(("question", "expected"), PARAPHRASES)
def test_a_paraphrased_question_keeps_its_passage_in_place(
    observed: dict[int, dict[str, Seen]], question: str, expected: str
) -> None:
    places = {
        step: next((i for i, text in enumerate(seen[question].top3) if expected in text), None)
        for step, seen in observed.items()
    }
    assert places[0] is not None and set(places.values()) == {places[0]}, places


# With 300 abstracts, each saying "Study N used ...", "use" becomes the collection's commonest
# question term and "Kestrel" one of its rarest: sentence weights counted over the whole
# collection preferred "Kestrel's founder ... ban on foreign engines" to "The company used M40
# engines". The responder counts them over the documents of the strong passages only.
@pytest.mark.parametrize(("question", "expected"), QUESTIONS)
def test_the_cited_sentence_stays_the_same(
    observed: dict[int, dict[str, Seen]], question: str, expected: str
) -> None:
    alone = observed[0][question].cited
    assert alone is not None, "the article alone should answer this question"
    for step in STEPS:
        cited = observed[step][question].cited
        assert cited == alone, (step, alone[3], cited and cited[3])
