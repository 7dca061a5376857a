"""Month and weekday names, and day numbers: the one table that loaders, the answerer and the
briefing's figures all read dates with."""

from __future__ import annotations

from datetime import date

#: Each month's name, then its abbreviations.
_NAMES = (
    ("january", "jan"),
    ("february", "feb"),
    ("march", "mar"),
    ("april", "apr"),
    ("may",),
    ("june", "jun"),
    ("july", "jul"),
    ("august", "aug"),
    ("september", "sep", "sept"),
    ("october", "oct"),
    ("november", "nov"),
    ("december", "dec"),
)
#: Month names and their abbreviations, lower case, to the month's number.
MONTHS: dict[str, int] = {name: n for n, names in enumerate(_NAMES, start=1) for name in names}
#: The names as a pattern's alternatives, capitalised (so "may" the verb is no month unless the
#: pattern ignores case), whole names first; no group of its own.
MONTH_NAMES = "|".join(
    [names[0].capitalize() for names in _NAMES]
    + [short.capitalize() for names in _NAMES for short in names[1:]]
)
#: A month's name, optionally abbreviated with a full stop ("Sept."), as one group-free pattern.
MONTH = rf"(?:{MONTH_NAMES})\.?"
WEEKDAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"


def day_number(iso: str | None) -> int | None:
    """Days since 1970-01-01, for date-range filters in the store (which compares numbers)."""
    if not iso:
        return None
    try:
        return (date.fromisoformat(iso) - date(1970, 1, 1)).days
    except ValueError:
        return None
