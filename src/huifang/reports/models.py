"""Models of reports (issue 8)."""
