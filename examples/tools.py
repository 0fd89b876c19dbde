"""An example tool registry: five typed Python functions, exported as ``TOOLS``.

    needle-router route "What's the weather in Paris in celsius?" --tools examples/tools.py

Any module with a ``TOOLS`` list works with ``--tools``; the same five tools as OpenAI-style
JSON schemas are in ``examples/tools.json``. The bodies are stubs: routing only needs the
signatures and docstrings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


def get_weather(location: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict:
    """Get the current weather for a location.

    Args:
        location: City and optionally country, e.g. "Paris, France".
        unit: Temperature unit of the answer.
    """
    return {"location": location, "temperature": 21, "unit": unit, "conditions": "sunny"}


def send_email(to: str, subject: str, body: str, cc: list[str] | None = None) -> str:
    """Send an email.

    Args:
        to: Recipient email address.
        subject: Subject line.
        body: Plain-text body of the email.
        cc: Addresses to copy, if any.
    """
    return f"sent {subject!r} to {to}"


class Attendee(BaseModel):
    """Someone invited to an event."""

    email: str = Field(description="The attendee's email address.")
    optional: bool = Field(False, description="Whether attendance is optional.")


def create_calendar_event(
    title: str,
    start: str,
    duration_minutes: int = 30,
    attendees: list[Attendee] | None = None,
    location: str | None = None,
) -> str:
    """Create an event in the user's calendar.

    Args:
        title: Short title of the event.
        start: Start date and time in ISO 8601, e.g. "2025-06-03T14:00".
        duration_minutes: Length of the event in minutes.
        attendees: People to invite.
        location: Where the event takes place.
    """
    when = datetime.fromisoformat(start)
    return f"created {title!r} at {when:%Y-%m-%d %H:%M} for {duration_minutes} min"


def convert_currency(amount: float, from_currency: str, to_currency: str) -> float:
    """Convert an amount of money from one currency to another at today's rate.

    Args:
        amount: The amount to convert.
        from_currency: ISO 4217 code of the source currency, e.g. "USD".
        to_currency: ISO 4217 code of the target currency, e.g. "EUR".
    """
    return round(amount * 0.92, 2)


def search_web(query: str, max_results: int = 5) -> list[str]:
    """Search the web and return the top result URLs.

    Args:
        query: What to search for.
        max_results: How many results to return (1-20).
    """
    return [f"https://example.com/search?q={query}&n={i}" for i in range(max_results)]


TOOLS = [get_weather, send_email, create_calendar_event, convert_currency, search_web]
