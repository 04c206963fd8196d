"""Importers: data somebody else publishes (EDGAR's filing lists) turned into facts of a form's vocabulary.

An importer knows its source's words, never a form's fact types: the form's
``vocabulary.yaml`` says under ``imports:`` which type and fields receive
them (docs/vocabulary.md), so every form that records filings reads the same
files. The room sits beside ``law`` (it needs the vocabulary and the fact
reader, nothing that evaluates) and below the commands.
"""
