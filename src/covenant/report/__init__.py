"""The report: built from an evaluation, explained, compared, rendered.

One report object (``build``), the explanations a lawyer checks, ``--since``
changes, coverage, and a renderer per format under ``render/``.
"""
