"""Food-and-dining tool registry: restaurants, reservations, delivery, recipes, groceries, nutrition.

A DEVELOPMENT registry, not an evaluation one: one person's dining-assistant app exposes these ten
tools, and the hand-written queries in ``queries.jsonl`` next to this file are used to choose
``needle-router finetune`` settings and router rules. It is never trained on, and numbers measured
on it are not evaluation results (the evaluation registries are in ``examples/registries/``).

Confusable siblings are deliberate: ``search_restaurants`` / ``order_delivery`` (finding a place
versus ordering food from one), ``reserve_table`` / ``cancel_reservation``, ``order_delivery`` /
``track_order``, ``rate_restaurant`` / ``split_bill`` (both come after a meal), and
``find_recipes`` / ``add_to_grocery_list`` / ``get_nutrition`` (all about ingredients). Dates and
times are free strings, passed on as the user wrote them ("next Thursday", "7:45pm", "2025-07-03"). The
bodies are stubs: routing only needs the signatures and docstrings.
"""

from typing import Literal

PriceLevel = Literal["cheap", "moderate", "upscale"]
Seating = Literal["indoor", "outdoor", "bar", "private_room"]
Diet = Literal["vegetarian", "vegan", "gluten_free", "keto", "dairy_free"]


def search_restaurants(
    cuisine: str,
    location: str,
    price_level: PriceLevel | None = None,
    open_now: bool = False,
) -> list[dict]:
    """Search for restaurants by cuisine and area (does not book or order anything).

    Args:
        cuisine: Kind of food or restaurant, e.g. "Ethiopian", "dim sum" or "tapas".
        location: Neighbourhood, city or landmark to search around, e.g. "Hayes Valley".
        price_level: Price range wanted; any price when left out.
        open_now: Only show places that are open right now.
    """
    return [{"restaurant": "Example Bistro", "cuisine": cuisine, "location": location}]


def reserve_table(
    restaurant: str,
    date: str,
    time: str,
    party_size: int,
    seating: Seating | None = None,
) -> dict:
    """Book a table at a specific restaurant.

    Args:
        restaurant: Name of the restaurant, e.g. "Delfina".
        date: Day of the reservation as the user gave it, e.g. "next Thursday" or "2025-07-03".
        time: Time of the reservation as the user gave it, e.g. "7:45pm" or "19:30".
        party_size: Number of people eating, the user included.
        seating: Where to sit; whatever is available when left out.
    """
    return {"confirmation_code": "RS7730", "restaurant": restaurant, "party_size": party_size}


def cancel_reservation(restaurant: str, date: str | None = None) -> dict:
    """Cancel an existing table reservation at a restaurant.

    Args:
        restaurant: Name of the restaurant the reservation is at.
        date: Day of the reservation to cancel as the user gave it; the next upcoming one when left out.
    """
    return {"restaurant": restaurant, "date": date, "cancelled": True}


def order_delivery(
    restaurant: str,
    items: list[str],
    address: str | None = None,
    tip_percent: int | None = None,
) -> dict:
    """Order food for delivery from a specific restaurant.

    Args:
        restaurant: Name of the restaurant to order from.
        items: Dishes to order, each as the user named it, e.g. ["green curry", "mango sticky rice"].
        address: Delivery address; the saved home address when left out.
        tip_percent: Driver tip as a percentage of the order; the app's default when left out.
    """
    return {"order_id": "Q-1029", "restaurant": restaurant, "items": items}


def track_order(order_id: str) -> dict:
    """Get the status and estimated arrival time of a delivery order.

    Args:
        order_id: The order's ID, e.g. "Q-1029".
    """
    return {"order_id": order_id, "status": "out for delivery", "eta_minutes": 12}


def find_recipes(
    ingredients: list[str],
    max_minutes: int | None = None,
    diet: Diet | None = None,
) -> list[dict]:
    """Find recipes that use the given ingredients.

    Args:
        ingredients: Ingredients the recipe should use, e.g. ["tofu", "bok choy"].
        max_minutes: Longest total cooking time in minutes; any length when left out.
        diet: Dietary restriction the recipe must follow.
    """
    return [{"title": "Example stir-fry", "minutes": 25, "ingredients": ingredients}]


def add_to_grocery_list(items: list[str], list_name: str = "groceries") -> dict:
    """Add items to a shopping list.

    Args:
        items: Things to buy, each as the user named it, e.g. ["olive oil", "paper towels"].
        list_name: Name of the shopping list, e.g. "weekend"; the main grocery list when left out.
    """
    return {"list_name": list_name, "added": items}


def get_nutrition(food: str, amount_grams: float | None = None) -> dict:
    """Look up nutrition facts (calories, protein, carbs, fat, sugar) for a food.

    Args:
        food: The food, e.g. "brown rice" or "almonds".
        amount_grams: Portion size in grams; one typical serving when left out.
    """
    return {"food": food, "calories": 160, "protein_g": 2.0, "carbs_g": 8.5, "fat_g": 14.7}


def rate_restaurant(restaurant: str, stars: int, review: str | None = None) -> dict:
    """Rate a restaurant the user has been to, optionally with a written review.

    Args:
        restaurant: Name of the restaurant.
        stars: Rating from 1 to 5 stars.
        review: Text of the review, if the user gave one.
    """
    return {"restaurant": restaurant, "stars": stars, "posted": True}


def split_bill(total: float, people: int, tip_percent: float = 0) -> dict:
    """Work out each person's share of a restaurant bill, tip included.

    Args:
        total: The bill's total before tip.
        people: Number of people splitting it.
        tip_percent: Tip as a percentage of the total; no tip when left out.
    """
    share = total * (1 + tip_percent / 100) / people
    return {"per_person": round(share, 2), "people": people}


TOOLS = [
    search_restaurants,
    reserve_table,
    cancel_reservation,
    order_delivery,
    track_order,
    find_recipes,
    add_to_grocery_list,
    get_nutrition,
    rate_restaurant,
    split_bill,
]
