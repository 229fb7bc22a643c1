"""Models of evaluation (issue 8)."""
