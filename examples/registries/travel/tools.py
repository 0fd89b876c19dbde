"""Travel-booking tool registry: flights, hotels, rental cars, currency and trip itineraries.

An evaluation registry for ``needle-router finetune``: a travel assistant exposes these eleven
tools. Confusable siblings are deliberate: ``search_flights`` / ``book_flight`` /
``get_flight_status``, ``search_hotels`` / ``book_hotel``, ``convert_currency`` /
``get_exchange_rate``, ``get_itinerary`` / ``add_to_itinerary``, and ``cancel_booking``, which
cancels any kind of booking. ``book_flight`` takes a list of pydantic ``Passenger`` models. Dates
are free strings, passed on as the traveller wrote them ("next Friday", "June 3", "2025-07-14").
The bodies are stubs: routing only needs the signatures and docstrings.

The hand-written held-out queries for this registry are in ``queries.jsonl`` next to this file.
"""

from typing import Literal

from pydantic import BaseModel, Field

Currency = Literal["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "MXN", "THB", "INR", "CNY", "SEK"]
Cabin = Literal["economy", "premium_economy", "business", "first"]


class Passenger(BaseModel):
    """A traveller on a flight booking."""

    full_name: str = Field(description="First and last name as on the passport.")
    seat_preference: Literal["window", "aisle", "middle"] | None = Field(
        None, description="Preferred seat, if the traveller has one."
    )
    checked_bags: int = Field(0, description="Number of checked bags for this passenger.")


def search_flights(
    origin: str,
    destination: str,
    departure_date: str,
    return_date: str | None = None,
    passengers: int = 1,
    cabin: Cabin = "economy",
    nonstop_only: bool = False,
) -> list[dict]:
    """Search for available flights between two places (does not book anything).

    Args:
        origin: Departure city or airport code, e.g. "Boston" or "BOS".
        destination: Arrival city or airport code.
        departure_date: Outbound date as the traveller gave it, e.g. "next Friday" or "2025-07-14".
        return_date: Return date for a round trip; one-way when left out.
        passengers: Number of travellers.
        cabin: Cabin class.
        nonstop_only: Only show flights without stops.
    """
    return [{"flight_number": "XX123", "origin": origin, "destination": destination}]


def book_flight(flight_number: str, date: str, passengers: list[Passenger], cabin: Cabin = "economy") -> dict:
    """Book seats on a specific flight.

    Args:
        flight_number: Airline code and number, e.g. "BA117".
        date: Date of the flight as the traveller gave it.
        passengers: Everyone travelling on the booking.
        cabin: Cabin class.
    """
    return {"confirmation_code": "FL7K2Q", "flight_number": flight_number, "passengers": len(passengers)}


def get_flight_status(flight_number: str, date: str | None = None) -> dict:
    """Get the live status of a flight: on time, delayed, cancelled, gate and terminal.

    Args:
        flight_number: Airline code and number, e.g. "UA902".
        date: Date of the flight; today when left out.
    """
    return {"flight_number": flight_number, "status": "on time", "gate": "B12"}


def search_hotels(
    city: str,
    check_in: str,
    check_out: str,
    guests: int = 1,
    max_price_per_night: float | None = None,
    min_stars: int | None = None,
) -> list[dict]:
    """Search for hotels with rooms available in a city (does not book anything).

    Args:
        city: City or neighbourhood to stay in.
        check_in: Check-in date as the traveller gave it.
        check_out: Check-out date as the traveller gave it.
        guests: Number of guests.
        max_price_per_night: Highest nightly price, in the traveller's currency.
        min_stars: Minimum star rating, 1-5.
    """
    return [{"hotel_name": "Example Hotel", "city": city, "price_per_night": 120.0}]


def book_hotel(
    hotel_name: str,
    check_in: str,
    check_out: str,
    guests: int = 1,
    room_type: Literal["single", "double", "twin", "suite"] | None = None,
) -> dict:
    """Book a room at a specific hotel.

    Args:
        hotel_name: Name of the hotel, e.g. "Hotel Arts Barcelona".
        check_in: Check-in date as the traveller gave it.
        check_out: Check-out date as the traveller gave it.
        guests: Number of guests.
        room_type: Kind of room; the cheapest available when left out.
    """
    return {"confirmation_code": "HT93LM", "hotel_name": hotel_name}


def rent_car(
    pickup_location: str,
    pickup_date: str,
    dropoff_date: str,
    car_class: Literal["economy", "compact", "midsize", "suv", "van", "luxury"] | None = None,
    dropoff_location: str | None = None,
) -> dict:
    """Reserve a rental car.

    Args:
        pickup_location: Where to collect the car: an airport code, city or address.
        pickup_date: Pick-up date (and time, if given) as the traveller wrote it.
        dropoff_date: Return date (and time, if given) as the traveller wrote it.
        car_class: Size or kind of car; any available when left out.
        dropoff_location: Where to return the car, when it is not the pick-up location.
    """
    return {"confirmation_code": "CR55XA", "pickup_location": pickup_location}


def cancel_booking(confirmation_code: str) -> dict:
    """Cancel an existing flight, hotel or rental-car booking by its confirmation code.

    Args:
        confirmation_code: The booking's confirmation code, e.g. "FL7K2Q".
    """
    return {"confirmation_code": confirmation_code, "cancelled": True}


def convert_currency(amount: float, from_currency: Currency, to_currency: Currency) -> dict:
    """Convert an amount of money from one currency to another at today's rate.

    Args:
        amount: The amount to convert.
        from_currency: ISO 4217 code of the currency the amount is in.
        to_currency: ISO 4217 code of the currency wanted.
    """
    return {"amount": round(amount * 0.92, 2), "currency": to_currency}


def get_exchange_rate(base_currency: Currency, quote_currency: Currency) -> dict:
    """Get today's exchange rate between two currencies (how much one unit of the base is worth).

    Args:
        base_currency: ISO 4217 code of the currency being priced.
        quote_currency: ISO 4217 code of the currency the price is expressed in.
    """
    return {"base": base_currency, "quote": quote_currency, "rate": 0.92}


def get_itinerary(trip_name: str) -> dict:
    """Show the saved itinerary of a trip: bookings and planned activities, day by day.

    Args:
        trip_name: Name of the saved trip, e.g. "Japan 2025".
    """
    return {"trip_name": trip_name, "days": []}


def add_to_itinerary(trip_name: str, activity: str, date: str, time: str | None = None) -> dict:
    """Add a planned activity (a tour, a dinner reservation, a museum visit...) to a trip's itinerary.

    Args:
        trip_name: Name of the saved trip.
        activity: What is planned, e.g. "Sagrada Familia tour".
        date: Day of the activity as the traveller gave it.
        time: Time of day, e.g. "19:30" or "7pm"; all day when left out.
    """
    return {"trip_name": trip_name, "activity": activity, "date": date, "time": time}


TOOLS = [
    search_flights,
    book_flight,
    get_flight_status,
    search_hotels,
    book_hotel,
    rent_car,
    cancel_booking,
    convert_currency,
    get_exchange_rate,
    get_itinerary,
    add_to_itinerary,
]
