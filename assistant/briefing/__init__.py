"""Briefings: a one-click cited briefing of a collection (``Assistant.brief``)."""

from assistant.briefing.items import Briefing, Event, Figure, Point, Statement

__all__ = ["Briefing", "Event", "Figure", "Point", "Statement"]
