"""Lint's checks, one module per concern; each check is a small function of the folder yielding ``Problem``s."""
