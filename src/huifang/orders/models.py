"""Models of orders (issue 8)."""
