"""Covenant monitor: financing agreements as rule files, evaluated over dated facts."""

__version__ = "0.1.0"
