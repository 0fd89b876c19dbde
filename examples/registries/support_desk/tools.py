"""Customer-support desk tool registry: customers, orders, returns, refunds and tickets.

An evaluation registry for ``needle-router finetune``: a support agent's assistant (or a
self-service chat) exposes these twelve tools for an online shop's help desk. Confusable
siblings are deliberate: ``get_order_status`` / ``cancel_order``, ``request_return`` /
``issue_refund``, ``get_ticket`` / ``update_ticket_status`` / ``add_ticket_comment``. Two
parameters are nested pydantic models (a list of return items, a shipping address). The bodies
are stubs: routing only needs the signatures and docstrings.

The hand-written held-out queries for this registry are in ``queries.jsonl`` next to this file.
"""

from typing import Literal

from pydantic import BaseModel, Field

ReturnReason = Literal["damaged", "wrong_item", "not_as_described", "too_small", "too_large", "no_longer_needed"]


class ReturnItem(BaseModel):
    """One product line being sent back."""

    sku: str = Field(description='The product\'s SKU, e.g. "SKU-4411".')
    quantity: int = Field(1, description="How many units of this product are returned.")
    reason: ReturnReason = Field(description="Why the item is returned.")


class Address(BaseModel):
    """A postal address."""

    street: str = Field(description='House number and street, e.g. "12 Baker Street".')
    city: str = Field(description="City or town.")
    postal_code: str = Field(description="Postal or ZIP code.")
    country: str | None = Field(None, description="Country; the order's current country when left out.")
    unit: str | None = Field(None, description='Apartment, suite or unit, e.g. "Apt 4B".')


def find_customer(query: str) -> dict:
    """Look up a customer account by email address, phone number or full name.

    Args:
        query: The email, phone number or name to search for.
    """
    return {"query": query, "matches": []}


def get_order_status(order_id: str) -> dict:
    """Get the status, shipping progress and tracking number of an order (read-only).

    Args:
        order_id: The order number, e.g. "A-10293".
    """
    return {"order_id": order_id, "status": "shipped"}


def cancel_order(order_id: str, reason: str | None = None) -> dict:
    """Cancel an order that has not shipped yet.

    Args:
        order_id: The order number.
        reason: Why the customer is cancelling, in their words.
    """
    return {"order_id": order_id, "cancelled": True, "reason": reason}


def request_return(
    order_id: str,
    items: list[ReturnItem],
    refund_method: Literal["original_payment", "store_credit"] | None = None,
) -> dict:
    """Open a return for items of a delivered order and email the customer a prepaid label.

    Args:
        order_id: The order the items came from.
        items: The products being returned.
        refund_method: How to refund once the items arrive; the shop's default when left out.
    """
    return {"order_id": order_id, "return_id": "R-1", "items": [i.model_dump() for i in items]}


def issue_refund(order_id: str, amount: float, reason: str | None = None) -> dict:
    """Refund money on an order straight away, without any return (goodwill, price match, late delivery).

    Args:
        order_id: The order to refund.
        amount: Amount to refund, in the order's currency.
        reason: Short reason recorded with the refund.
    """
    return {"order_id": order_id, "refunded": amount, "reason": reason}


def update_shipping_address(order_id: str, address: Address) -> dict:
    """Change where an order that has not shipped yet will be delivered.

    Args:
        order_id: The order to change.
        address: The new delivery address.
    """
    return {"order_id": order_id, "address": address.model_dump()}


def create_ticket(
    summary: str,
    priority: Literal["low", "normal", "high", "urgent"] = "normal",
    customer_email: str | None = None,
    tags: list[str] | None = None,
) -> dict:
    """Open a new support ticket.

    Args:
        summary: One-line summary of the issue.
        priority: How urgent the ticket is.
        customer_email: Email of the customer the ticket is about, if any.
        tags: Labels to file the ticket under, e.g. ["billing", "vip"].
    """
    return {"ticket_id": "T-1", "summary": summary, "priority": priority}


def get_ticket(ticket_id: str) -> dict:
    """Show a support ticket: its status, assignee and conversation so far (read-only).

    Args:
        ticket_id: The ticket number, e.g. "T-5521".
    """
    return {"ticket_id": ticket_id, "status": "open"}


def update_ticket_status(
    ticket_id: str, status: Literal["open", "pending", "on_hold", "solved", "closed"]
) -> dict:
    """Move a support ticket to another status.

    Args:
        ticket_id: The ticket number.
        status: The new status.
    """
    return {"ticket_id": ticket_id, "status": status}


def add_ticket_comment(ticket_id: str, comment: str, internal: bool = False) -> dict:
    """Add a comment to a support ticket: a reply the customer sees, or an internal note.

    Args:
        ticket_id: The ticket number.
        comment: The text of the comment.
        internal: True for a private note only agents see; False sends it to the customer.
    """
    return {"ticket_id": ticket_id, "comment": comment, "internal": internal}


def assign_ticket(ticket_id: str, assignee: str) -> dict:
    """Assign a support ticket to an agent or a team.

    Args:
        ticket_id: The ticket number.
        assignee: Agent name or team name, e.g. "Priya" or "billing team".
    """
    return {"ticket_id": ticket_id, "assignee": assignee}


def send_password_reset(email: str) -> dict:
    """Email a customer a link to reset their account password.

    Args:
        email: The email address on the customer's account.
    """
    return {"email": email, "sent": True}


TOOLS = [
    find_customer,
    get_order_status,
    cancel_order,
    request_return,
    issue_refund,
    update_shipping_address,
    create_ticket,
    get_ticket,
    update_ticket_status,
    add_ticket_comment,
    assign_ticket,
    send_password_reset,
]
