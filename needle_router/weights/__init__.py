"""The shipped default checkpoint (data only; see MODEL_CARD.md)."""
