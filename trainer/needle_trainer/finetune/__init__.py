"""Fine-tuning Needle on a user's own tool registry (data: synthesis, user examples, splits)."""
