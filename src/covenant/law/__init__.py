"""What the agreement makes of the facts.

``driver`` walks simulated time and answers the engine's firings; beside it
are the pieces it leans on, each small enough to hold in mind: ``agenda``
(the days), ``memory`` (the engine's working memory), ``obligations`` (the
book and its state machine, with no engine), ``arising`` (how an obligation
comes into being), ``holdings``, ``deadlines`` and ``derivations``. The
remedies (``remedies``) are computed from what the walk produced.
"""
