"""`needle-router eval`: suites (held-out synthetic, BFCL, JSONL files), routing through the
real router, metrics, reports and plots (DESIGN.md section 9)."""
