"""JSON Schemas for the files people write, generated from the pydantic models.

An editor that speaks the YAML language server protocol reads the
``# yaml-language-server: $schema=...`` line at the top of a rule file and
then completes keys and underlines mistakes while a lawyer types. The
schemas are generated from the same models that validate the files
(model.py, and for facts the models a form's ``vocabulary.yaml`` builds),
so the editor and ``covenant lint`` can never disagree about what a key
means. Rule files and ``agreement.yaml`` have one schema for every form;
facts and scenario files have the schema of one form's vocabulary
(``covenant schema facts --rules DIR``). The Amnis form's are committed under
``schemas/`` (``covenant schema --write schemas --rules rules/amnis-spa-2003``);
a test checks they are current.

Scenario files have no pydantic model of their own in the evaluator (they
are read by scenariofiles.py); the small models below describe them for the
editor only, with the form's fact models for their facts.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, TypeAdapter, create_model

from covenant.language.model import Agreement, Rule
from covenant.language.vocabulary import Vocabulary, VocabularyDecl

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

DateText = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="a date written YYYY-MM-DD")]
Status = Literal["pending", "fulfilled", "breached", "cured", "waived", "discharged", "review"]


class ExpectedRemedy(BaseModel):
    """One line of an obligation's ``remedies`` as the report writes it."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["standard_liquidated_damages", "interest", "event_of_default"]
    buyer: str | None = None
    amount: Annotated[str, Field(pattern=r"^\d+\.\d{2}$", description='two decimals, e.g. "3892.03"')] | None = None


class ExpectedObligation(BaseModel):
    """An obligation the report must contain; only the fields written are compared."""

    model_config = ConfigDict(extra="allow")

    rule: Annotated[str, Field(description="the rule id")]
    trigger: str | None = Field(
        description="the fact id that made it arise; a period end YYYY-MM-DD; null for a fixed date"
    )
    beneficiary: str | None = Field(description="a buyer id, or null when owed to all Buyers")
    due: DateText | None = None
    status: Status | None = None
    breach_start: DateText | None = None
    cured_on: DateText | None = None
    days_in_breach: Annotated[StrictInt, Field(ge=0)] | None = None
    remedies: list[ExpectedRemedy] | None = None
    ended_on: DateText | None = None


class Scenario(BaseModel):
    """A small fact log, an as-of date and the obligations a lawyer expects."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="a slug, unique within the file")]
    title: str = Field(description="one line for people")
    as_of: DateText
    facts: list[dict[str, Any]] = Field(default_factory=list)  # the form's fact models: _scenario_file
    rules: list[str] | None = Field(
        default=None, description="the rules compared, instead of the file's rule (a file about several rules)"
    )
    expect: list[ExpectedObligation] = Field(
        default_factory=list,
        description="every obligation of the file's rule (or of rules:) and of the rules named here; [] means none",
    )


class ScenarioFile(BaseModel):
    """``rules/<agreement>/scenarios/<rule-id>.yaml``."""

    model_config = ConfigDict(extra="forbid")

    rule: str = Field(
        description="the rule id these scenarios are about: [] in expect means it has no obligation; "
        "a topic instead of a rule id when every scenario gives rules: or names its rules in expect"
    )
    scenarios: list[Scenario] = Field(min_length=1)


SCHEMAS: dict[str, tuple[str, str, Any]] = {
    "rules": ("rule.schema.json", "A rule file of the covenant monitor (one clause)", Rule),
    "agreement": ("agreement.schema.json", "agreement.yaml: the parties, money and conventions", Agreement),
    "facts": ("fact.schema.json", "One fact of a fact log (one line of JSONL)", None),
    "scenarios": ("scenario.schema.json", "A scenario file kept beside the rules", ScenarioFile),
    "vocabulary": ("vocabulary.schema.json", "vocabulary.yaml: the fact types a form's logs record", VocabularyDecl),
}
"""Command word -> (file under schemas/, title, the model or type it is generated from).

The facts' model is the form's (``Vocabulary.union``); scenario files take it for their facts."""

FORM_KINDS = frozenset({"facts", "scenarios"})
"""The schemas that depend on a form's vocabulary: they need its rule folder."""


def json_schema(kind: str, vocabulary: Vocabulary | None = None) -> dict[str, Any]:
    """The JSON Schema of one kind of file, as a dict (validation mode: what may be written).

    ``facts`` and ``scenarios`` need the form's ``vocabulary``: which facts exist is the form's to say.
    """
    _, title, model = SCHEMAS[kind]
    if kind in FORM_KINDS:
        if vocabulary is None:
            raise ValueError(f"the {kind} schema is a form's: give its vocabulary")
        model = vocabulary.union if kind == "facts" else _scenario_file(vocabulary)
    generated = TypeAdapter(model).json_schema(mode="validation")
    return {"$schema": SCHEMA_DIALECT, **generated, "title": title}


def render_schema(kind: str, vocabulary: Vocabulary | None = None) -> str:
    """The schema as committed: two-space indent, keys in generation order, newline at the end."""
    return json.dumps(json_schema(kind, vocabulary), indent=2, ensure_ascii=False) + "\n"


def _scenario_file(vocabulary: Vocabulary) -> Any:
    """``ScenarioFile`` whose scenarios' facts are the form's fact models."""
    scenario = create_model(  # type: ignore[call-overload]
        "Scenario",
        __base__=Scenario,
        __doc__=Scenario.__doc__,
        __module__=__name__,
        facts=(list[vocabulary.union], Field(default_factory=list)),  # type: ignore[name-defined]
    )
    return create_model(  # type: ignore[call-overload]
        "ScenarioFile",
        __base__=ScenarioFile,
        __doc__=ScenarioFile.__doc__,
        __module__=__name__,
        scenarios=(list[scenario], Field(min_length=1)),  # type: ignore[valid-type]
    )


def facts_markdown(vocabulary: Vocabulary) -> str:
    """docs/facts.md: every fact type and its fields, generated from the models a fact log is read with.

    Rule files and scenarios may only name these types and fields; lint's
    hints point here, inside the repository, so a lawyer can look them up
    (a test checks the page is current).
    """
    lines = [
        "# The fact vocabulary",
        "",
        "Every fact of a fact log (one JSON object per line), and every fact of a scenario, is",
        "one of these types. Every fact also has `id` (unique in the log), `date`",
        "(`2004-04-29`), and may have `agreement` (in a portfolio) and `note` (for people).",
        "A rule's `fact:`, `on:` and `where:` may only name these types and fields, or a",
        "fact a rule of the folder derives. Generated from the monitor's models",
        "(`covenant schema facts` gives the same as a JSON Schema); do not edit by hand.",
        "",
    ]
    common = {"id", "date", "agreement", "note", "type"}
    for name in sorted(vocabulary.models):
        model = vocabulary.models[name]
        lines.append(f"## {name}")
        lines.append("")
        fields = [(f, info) for f, info in model.model_fields.items() if f not in common]
        if not fields:
            lines.append("No fields besides `id` and `date`.")
        for field_name, info in fields:
            required = "required" if info.is_required() else "optional"
            shown = _annotation_words(info.annotation)
            if any("parse_month" in repr(m) for m in info.metadata):
                shown = "a month (2004-04)"
            lines.append(f"- `{field_name}` ({required}): {shown}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _annotation_words(annotation: Any) -> str:
    """A field's type in words: one of the values listed, a date, an amount, text, a whole number..."""
    from typing import Union, get_args, get_origin

    origin = get_origin(annotation)
    if origin is Literal:
        return "one of " + ", ".join(f"`{v}`" for v in get_args(annotation))
    if origin is Union or type(annotation).__name__ == "UnionType":
        parts = [_annotation_words(a) for a in get_args(annotation) if a is not type(None)]
        return " or ".join(parts)
    if origin is Annotated:
        base, *meta = get_args(annotation)
        names = " ".join(repr(m) for m in meta)
        if base is Decimal or "parse_amount" in names:
            return 'an amount in digits ("250000.00", no $ sign, no commas)'
        if "parse_date" in names:
            return "a date (2004-04-29)"
        if "parse_month" in names:
            return "a month (2004-04)"
        return _annotation_words(base)
    if origin is list:
        (item,) = get_args(annotation) or (str,)
        return f"a list of {_annotation_words(item)}"
    if annotation is Decimal:
        return 'an amount in digits ("250000.00": no $ sign, no commas)'
    if getattr(annotation, "__name__", "") == "date":
        return "a date (2004-04-29)"
    return {str: "text", int: "a whole number", bool: "true or false"}.get(annotation, str(annotation))
