"""What the agreement makes of the facts.

The driver walks simulated time; obligations and their state machine,
deadlines, holdings, derived facts and periods, and remedies live beside it.
"""
