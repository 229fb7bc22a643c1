"""Models of issues (issue 8)."""
