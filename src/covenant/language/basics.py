"""The words every part of the rule language shares: names, bounds, scalars and the strict base model.

Both grammars, the rule files' (``model.py``) and agreement.yaml's
(``terms.py``), build on these, so neither imports the other's.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt

MAX_DAYS = 3_660
"""Day counts (``days_after``, ``business_days_after``, a mail delay): ten years is already no deadline."""

MAX_YEARS = 100
"""Years in a term (``years_after``, survival): a century is already no limit."""

RULE_ID = r"^[a-z0-9][a-z0-9-]*$"
FACT_NAME = r"^[a-z][a-z0-9_]*$"

Scalar = str | StrictInt | StrictBool | Decimal


class Strict(BaseModel):
    """Every model of the language: an unknown key is a mistake, and a validated file never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


__all__ = ["FACT_NAME", "MAX_DAYS", "MAX_YEARS", "RULE_ID", "Scalar", "Strict"]
