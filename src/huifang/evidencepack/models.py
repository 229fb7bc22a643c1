"""Models of evidencepack (issue 8)."""
