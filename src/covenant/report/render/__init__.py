"""Renderers of the report: text, JSON, Markdown, HTML, CSV (and ICS for deadlines).

Each renderer only formats ``report.build``'s object, so every format says the
same thing; ``formats.render`` picks one by name.
"""
