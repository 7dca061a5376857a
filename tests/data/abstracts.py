"""A corpus of short research abstracts of our own, made from parts written for the tests.

The crash and load tests need many documents of several chunks each, varied enough that every
one embeds differently; ``abstracts(n)`` gives ``n`` of them, the same on every run."""

from __future__ import annotations

import random
from dataclasses import dataclass

SUBJECTS = [
    ("soil bacteria", "nitrogen uptake in wheat"),
    ("coastal wetlands", "storm surge damage"),
    ("urban heat islands", "night-time hospital admissions"),
    ("river sediment", "phosphate run-off"),
    ("honeybee colonies", "winter survival"),
    ("school meal programmes", "reading scores"),
    ("rural broadband", "small-business revenue"),
    ("peat bogs", "carbon release after drainage"),
    ("tidal turbines", "fish mortality"),
    ("night shift work", "sleep quality in nurses"),
    ("bus lanes", "journey time reliability"),
    ("gut microbiota", "response to iron supplements"),
    ("recycled asphalt", "road surface cracking"),
    ("alpine glaciers", "summer river flow"),
    ("mobile banking", "household savings"),
    ("wildfire smoke", "asthma in children"),
    ("cover crops", "weed pressure"),
    ("heat pumps", "winter electricity peaks"),
    ("seagrass meadows", "juvenile cod numbers"),
    ("community health workers", "vaccination uptake"),
]

DESIGNS = [
    "a randomised controlled trial across {sites} sites",
    "a cohort of {people} participants followed for {years} years",
    "a field experiment on {sites} plots over {years} seasons",
    "satellite records from {years} years and {sites} regions",
    "a case-control study of {people} cases",
    "a survey of {people} households in {sites} districts",
]

FINDINGS = [
    "{subject} were associated with a {pct} per cent change in {outcome}.",
    "{subject} reduced {outcome} by {pct} per cent compared with controls.",
    "We found no measurable effect of {subject} on {outcome} beyond {pct} per cent.",
    "The effect of {subject} on {outcome} doubled in the driest {pct} per cent of years.",
    "{subject} explained {pct} per cent of the variation in {outcome}.",
]

CAVEATS = [
    "The sample was drawn from a single country, which limits how far the result travels.",
    "Measurement error in the baseline survey may have weakened the estimates.",
    "Seasonal weather differed sharply between the study years.",
    "Participants who left the study early were older on average.",
    "The instruments were recalibrated half-way through the observation period.",
    "Funding constraints kept the follow-up shorter than planned.",
]

IMPLICATIONS = [
    "Policy makers should weigh these results before scaling up national programmes.",
    "Further trials with longer follow-up are needed to confirm the mechanism.",
    "The findings support targeting the intervention at the most exposed groups.",
    "Cost estimates suggest the approach pays for itself within a decade.",
    "Local conditions appear to matter more than the intervention itself.",
    "The data set and code are available to other research groups on request.",
]


@dataclass(frozen=True)
class Abstract:
    """One made-up abstract: an id, a title and a body of several paragraphs."""

    id: str
    title: str
    text: str


def abstracts(n: int, seed: int = 7) -> list[Abstract]:
    """``n`` distinct abstracts (about 90 words, one chunk, each); the same for the same ``n``
    and seed."""
    rng = random.Random(seed)
    out = []
    for k in range(n):
        subject, outcome = SUBJECTS[k % len(SUBJECTS)]
        numbers = {
            "sites": rng.randint(3, 60),
            "people": rng.randint(120, 9000),
            "years": rng.randint(2, 15),
        }
        design = rng.choice(DESIGNS).format(**numbers)
        pct = rng.randint(3, 48)
        finding = rng.choice(FINDINGS).format(subject=subject, outcome=outcome, pct=pct)
        finding = finding[0].upper() + finding[1:]
        title = f"{subject.capitalize()} and {outcome}: study {k + 1}"
        intro = (
            f"Little is known about how {subject} affect {outcome}. "
            f"Study {k + 1} used {design} to measure the link, recorded between "
            f"{2001 + k % 20} and {2003 + k % 20 + numbers['years']}."
        )
        method = (
            f"Outcomes were measured at baseline and every {rng.randint(2, 12)} months, "
            f"and {rng.randint(4, 30)} covariates were adjusted for, including age, income "
            f"and local rainfall."
        )
        results = f"{finding} {rng.choice(CAVEATS)}"
        closing = rng.choice(IMPLICATIONS)
        text = "\n\n".join([intro, method, results, closing])
        out.append(Abstract(id=f"abs{k + 1:04d}", title=title, text=text))
    return out
