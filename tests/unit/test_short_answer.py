"""The short-answer extractor on sentences of our test documents and the samples: for a question
that asks for a thing, the few words that answer it, verbatim; for one that asks for none, None.

Each case names its sentence by a piece of it. The cases were written as questions a reader
would ask; the ones from the depot memo were written after the extractor, without tuning it on
them.
"""

from __future__ import annotations

import pytest

from assistant.answering.answer import Answer, Citation
from assistant.answering.question import analyse
from assistant.answering.short_answer import best_of, fill, short_answer
from assistant.text.sentences import sentence_spans
from tests.conftest import ARTICLE, MEMO, ROOT

SAMPLES = sorted((ROOT / "assistant" / "samples").glob("*.md"))


def _sentences() -> list[str]:
    out = []
    for path in (ARTICLE, MEMO, *SAMPLES):
        text = path.read_text(encoding="utf-8")
        out += [text[a:b] for a, b in sentence_spans(text)]
    return out


SENTENCES = _sentences()

CASES = [
    # News-quiz forms: a story before the question, or a statement about "this X".
    (
        "Kestrel surprised investors with its KX1 rocket. In which city is the company based?",
        "Based in Pune",
        "Pune",
    ),
    (
        "This Indian start-up surprised investors with a cheap rocket.",
        "Tight European",
        "Kestrel Dynamics",
    ),
    (
        "Which venture capitalist likened Kestrel's rise to a Kitty Hawk moment?",
        "Kitty Hawk",
        "Helena Ward",
    ),
    ("Who founded Kestrel?", "Kestrel’s founder", "Priya Raman"),
    # engines are no person: the founder's name is no answer to "which engines"
    ("Which engines did Kestrel use?", "Kestrel’s founder", None),
    ("Who is Kestrel's founder?", "Kestrel’s founder", "Priya Raman"),
    ("Which engines did Kestrel use?", "M40 engines", "M40 engines"),
    ("How much did KX1 reportedly cost to develop?", "$18.5 million", "$18.5 million"),
    ("How much did KX1 cost?", "$18.5 million", "$18.5 million"),
    ("What did Helena Ward say about Kestrel?", "Kitty Hawk", "Kitty Hawk moment"),
    ("What did Helena Ward compare Kestrel's rise to?", "Kitty Hawk", "Kitty Hawk moment"),
    ("Who said that European export rules are ineffective?", "Lindqvist added", "Lindqvist"),
    ("How big is Brandt's Skyway project?", "$40 billion", "$40 billion"),
    ("Where is Kestrel based?", "Based in Pune", "Pune"),
    ("Which think tank is Marcus Feld from?", "Corbett Institute", "Corbett Institute"),
    (
        "Which university is Tobias Lindqvist affiliated with?",
        "Uppsala University",
        "Uppsala University",
    ),
    (
        "Where is Amara Okafor a senior fellow?",
        "Leiden University",
        "Leiden University’s Centre for Space Law",
    ),
    ("Which company returned to profitability despite sanctions?", "Orbitex", "Orbitex"),
    ("What is Kestrel?", "Tight European export", None),
    ("Why did Kestrel design lighter rockets?", "Restrictions on India", None),
    ("Which rocket did Kestrel build?", "KX1 rocket, which rivals", "KX1 rocket"),
    ("When were M40 engines legal for export to India?", "M40 engines", "late 2024"),
    ("Who is the founder of Kestrel Dynamics?", "Kestrel’s founder", "Priya Raman"),
    ("Which commissioner led EU policy?", "Commissioner Anna Lindt", "Anna Lindt"),
    ("Who led the EU policy on engines?", "Commissioner Anna Lindt", "Anna Lindt"),
    ("Who called Kestrel's success a wake-up call?", "wake-up call", "Brandt"),
    ("What did Brandt call Kestrel's success?", "wake-up call", "wake-up call"),
    (
        "Which foundation does Jan Kowalski work for?",
        "Hartmann Foundation",
        "Hartmann Foundation’s Centre for Industrial Strategy",
    ),
    (
        "Who is the director of the Centre for Industrial Strategy?",
        "Hartmann Foundation",
        "Kowalski",
    ),
    ("Which institute is Sofia Marin from?", "Sofia Marin", "Institute for Space Economics (ISE)"),
    ("Who led the Skyway project?", "$40 billion", "Airbus"),
    ("Which state-built rocket failed to impress?", "Vyom rocket", "Vyom rocket"),
    ("By when had India pledged to lead in small launches?", "by 2030", "2030"),
    ("Where has Kestrel's rise caused alarm?", "Toulouse and Brussels", "Toulouse"),
    ("Who made the Vega rocket?", "Vega rocket", "Avio"),
    ("Which rocket does Avio make?", "Vega rocket", "Vega rocket"),
    (
        "How much capacity do the Northern Region's recycling plants have?",
        "combined capacity",
        "48,000 tonnes",
    ),
    (
        "How many licensed battery recycling plants does the Northern Region have?",
        "combined capacity",
        "three licensed battery recycling plants",
    ),
    ("What share of lithium does the largest plant recover?", "92 per cent", "about 92 per cent"),
    ("Which company runs the largest recycling plant?", "92 per cent", "Kestrel Materials"),
    ("Where is the largest recycling plant?", "92 per cent", "Aldbury"),
    ("How many jobs will the Kestrel Materials expansion create?", "350 jobs", "about 350 jobs"),
    ("By what year will Kestrel Materials double its capacity?", "350 jobs", "2028"),
    ("Who is the chief technology officer of Kestrel Materials?", "Leah Okafor", "Dr Leah Okafor"),
    ("What is the cap on grants per project?", "capped at 25 million", "25 million"),
    ("When did two plants report fires?", "reported fires in 2025", "2025"),
    ("How long was a line closed after a fire?", "reported fires in 2025", "four months"),
    ("Who is the analyst at Lindqvist Research?", "Paul Verhoeven", "Paul Verhoeven"),
    ("Where does Paul Verhoeven work?", "Paul Verhoeven", "Lindqvist Research"),
    ("How much did the union's deal raise pay?", "three-year agreement", "11 per cent"),
    ("How long did the strike at Port Calder last?", "three-year agreement", "nine-day"),
    (
        "How many container ships waited offshore?",
        "three-year agreement",
        "more than 40 container ships",
    ),
    ("What percentage of members voted in favour of the deal?", "voted in favour", "82 per cent"),
    ("How much cargo did the stoppage delay?", "1.2 billion euros", "1.2 billion euros"),
    ("Who is the general secretary of the union?", "Tomas Reyes", "Tomas Reyes"),
    (
        "Who is the chief executive of the Port Calder Authority?",
        "Ingrid Halvorsen",
        "Ingrid Halvorsen",
    ),
    ("By how much will handling fees rise?", "handling fees", "4 per cent"),
    ("Which port did importers switch shipments to?", "rival port of Essholm", "Essholm"),
    ("When is the backlog of ships expected to clear?", "backlog of ships", "28 March"),
    ("When did the previous agreement expire?", "previous agreement expired", "December 2025"),
    ("When did talks break down?", "Talks broke down", "3 March"),
    (
        "Which bank's economists estimated the effect on growth?",
        "Economists at Northbank",
        "Northbank",
    ),
    (
        "How much new investment does the Westmere water utility need?",
        "310 million",
        "about 310 million",
    ),
    ("How much would Option A raise tariffs each year?", "Raise every tariff", "6.5 per cent"),
    ("How much would the green bonds raise?", "150 million in green bonds", "150 million"),
    ("Which option does the Treasurer recommend?", "Treasurer recommends", "Option B"),
    ("By when must the committee choose an option?", "15 October", "15 October"),
    (
        "Which plant does the utility plan to expand?",
        "Marlow treatment plant",
        "Marlow treatment plant",
    ),
    ("What rating would likely be kept?", "AA-", "AA-"),
    ("How much interest would the bonds add?", "estimated 64 million", "64 million"),
    ("Why did lithium prices matter to recyclers?", "Lithium carbonate prices", None),
    ("Is Kestrel profitable?", "Orbitex", None),
    ("Summarise the article.", "Tight European export", None),
    ("Which rocket rivals European launchers?", "KX1 rocket, which rivals", "KX1 rocket"),
    ("Where is Tobias Lindqvist from?", "Tobias Lindqvist", "Uppsala University"),
    (
        "Who is the venture capitalist who likened Kestrel's rise to a Kitty Hawk moment?",
        "Kitty Hawk",
        "Helena Ward",
    ),
    ("Which players dominated European commercial launch?", "major players like", "Arianespace"),
    ("How much was Brandt's Skyway project worth?", "$40 billion", "$40 billion"),
    (
        "Who argued that Kestrel's rise doesn't weaken the case for export rules?",
        "Former MEP Jan Kowalski",
        "Jan Kowalski",
    ),
    (
        "Which foundation's centre does Kowalski direct?",
        "Hartmann Foundation",
        "Hartmann Foundation’s Centre for Industrial Strategy",
    ),
    (
        "Who concluded that the fear of losing ground may trigger a push for launch independence?",
        "Sofia Marin",
        "Sofia Marin",
    ),
    ("Which city is Kestrel Materials' largest plant in?", "92 per cent", "Aldbury"),
    ("How much of the lithium does the largest plant recover?", "92 per cent", "about 92 per cent"),
    ("What share do the smaller plants recover?", "closer to 60 per cent", "closer to 60 per cent"),
    ("How much is the Kestrel Materials expansion worth?", "350 jobs", "210 million"),
    ("When did Kestrel Materials announce its expansion?", "350 jobs", "May"),
    ("How much will recycling demand reach by 2030?", "90,000 tonnes", "90,000 tonnes"),
    ("By how much have insurers raised premiums?", "Insurers have raised", "about a third"),
    ("Who said the economics work over a decade?", "Paul Verhoeven", "Paul Verhoeven"),
    ("Who said permits must keep pace with the money?", "Leah Okafor", "Dr Leah Okafor"),
    ("When did dock workers return to work?", "returned to work", "Saturday"),
    ("How long did the Port Calder strike last?", "Our members held the line", "nine days"),
    ("Who said the settlement was fair but expensive?", "Ingrid Halvorsen", "Ingrid Halvorsen"),
    ("When will handling fees rise?", "handling fees", "July"),
    (
        "What share of members switched shipments?",
        "Federation of Calder Importers",
        "about 15 per cent",
    ),
    (
        "Which organisation said members switched shipments to Essholm?",
        "Federation of Calder Importers",
        "Federation of Calder Importers",
    ),
    ("How much would the strike cut regional growth?", "Northbank", "0.1 percentage points"),
    ("When was the last full stoppage at Port Calder?", "first full stoppage", "2011"),
    ("How much did the authority offer in the talks?", "Talks broke down", "6 per cent"),
    (
        "How much can the utility finance at today's tariffs?",
        "At today's tariffs",
        "about 190 million",
    ),
    ("How big is the funding gap?", "closing the gap", "roughly 120 million"),
    ("How much would the average household bill rise to?", "average household bill", "53"),
    (
        "How many cubic metres a month stay at today's price?",
        "first 6 cubic metres",
        "6 cubic metres",
    ),
    ("What share of households would pay less under Option B?", "70 per cent", "70 per cent"),
    ("Who recommends Option B?", "Treasurer recommends", "Treasurer"),
    ("When could a public consultation open?", "public consultation", "November"),
    ("Why is Option A unfair to low-income households?", "simplest option", None),
    ("How does Option C spread the cost?", "spreads the cost", None),
    ("When was the Eastfield depot built?", "built in 1971", "1971"),
    (
        "How much power can the Eastfield grid connection supply?",
        "tops out at 2 megawatts",
        "2 megawatts",
    ),
    ("Where should the new depot be built?", "Miller Road.", "Miller Road"),
    ("How big is the gasworks site?", "4.1 hectares", "4.1 hectares"),
    ("How much would the new depot cost?", "38 million pounds", "38 million pounds"),
    ("Which fund would pay for most of the depot?", "national zero-emission", None),
    ("What share would the bus fund pay?", "60 per cent", "60 per cent"),
    ("By when must the contract be signed?", "31 March 2027", "31 March 2027"),
    ("What was found on the gasworks site?", "tar residue", None),
    ("How much could cleaning the soil add?", "tar residue", "3 million pounds"),
    ("When will the last diesel buses retire?", "diesel buses retire", "2029"),
    ("What budget is the committee asked to approve?", "budget of 41 million", "41 million pounds"),
    ("Which site is the committee asked to approve?", "budget of 41 million", "Miller Road site"),
    ("Why can the Eastfield depot not house the electric fleet?", "roof cannot carry", None),
]


def _sentence(piece: str) -> str:
    found = [s for s in SENTENCES if piece in s]
    assert found, piece
    return found[0]


@pytest.mark.parametrize(("question", "piece", "expected"), CASES)
def test_short_answer_of_a_sentence(question: str, piece: str, expected: str | None) -> None:
    sentence = _sentence(piece)
    span = short_answer(analyse(question), sentence)
    got = sentence[span[0] : span[1]] if span else None
    assert got == expected, (question, sentence)


def test_the_span_is_verbatim_and_trimmed() -> None:
    for question, piece, _expected in CASES:
        sentence = _sentence(piece)
        span = short_answer(analyse(question), sentence)
        if span is None:
            continue
        words = sentence[span[0] : span[1]]
        assert 0 <= span[0] < span[1] <= len(sentence)
        assert words == words.strip(" ,;:") and len(words.split()) <= 8


def test_best_of_several_sentences_names_the_one_that_holds_it() -> None:
    lead = _sentence("Kestrel’s founder")
    other = _sentence("The company used M40 engines")
    assert best_of(analyse("Which engines did Kestrel use?"), [lead, other])[0] == 1
    found = best_of(analyse("Who founded Kestrel?"), [lead, other])
    assert found is not None and lead[found[1] : found[2]] == "Priya Raman"


def _answer(quote: str, start: int, abstained: bool = False) -> Answer:
    cite = Citation(
        n=1,
        doc_id="d",
        title="t",
        source="s",
        location="paragraph 1",
        quote=quote,
        start=start,
        end=start + len(quote),
        score=1.0,
    )
    return Answer(question="", text=quote + " [1]", citations=[cite], abstained=abstained)


def test_fill_gives_the_short_answer_with_its_document_offsets() -> None:
    text = ARTICLE.read_text(encoding="utf-8")
    quote = _sentence("Based in Pune")
    start = text.index(quote)
    answer = _answer(quote, start)
    fill(answer, analyse("Where is Kestrel based?"))
    assert answer.short == "Pune" and answer.short_citation == 1
    assert text[answer.short_start : answer.short_end] == "Pune"
    data = answer.to_dict()
    assert data["short"] == "Pune" and data["short_start"] == answer.short_start


def test_no_short_answer_when_abstained_or_nothing_is_asked() -> None:
    quote = _sentence("Based in Pune")
    abstained = _answer(quote, 0, abstained=True)
    fill(abstained, analyse("Where is Kestrel based?"))
    assert abstained.short is None and abstained.to_dict()["short"] is None
    why = _answer(quote, 0)
    fill(why, analyse("Why is Kestrel based in Pune?"))
    assert why.short is None and why.short_citation is None


def test_long_run_on_sentences_cost_little() -> None:
    # A document can hold a "sentence" of thousands of numbers or names; the cited quote of one
    # must not stall the answer (it once took seconds: pairwise checks over every candidate).
    import time

    question = analyse("How many ships waited offshore?")
    started = time.perf_counter()
    for piece in ("1,000,000 ships ", "Aa of the Bb’s ", "May 2020 "):
        short_answer(question, (piece * 500)[:1990])
        assert short_answer(question, piece * 500) is None  # too long to hold a short answer
    assert time.perf_counter() - started < 1.0
