"""The only code importing durable-rules.

Rulesets, sessions and the pool of ruleset copies; the names of the
patterns and internal fact types that the compiler and the driver share.
"""
