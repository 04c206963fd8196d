"""The rule language, from YAML to an engine ruleset.

The model of a rule file, safe YAML with positions, the one folder loader,
the engine's limits, lint, the JSON Schemas and the compiler: everything
that reads what a lawyer wrote, before any fact is seen.
"""
