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
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, TypeAdapter, create_model

from covenant.language.fieldkinds import VocabularyDecl
from covenant.language.model import Agreement, Rule
from covenant.language.vocabulary import Vocabulary

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

DateText = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="a date written YYYY-MM-DD")]
Status = Literal["pending", "fulfilled", "breached", "cured", "waived", "discharged", "review"]


class ExpectedRemedy(BaseModel):
    """One line of an obligation's ``remedies`` as the report writes it."""

    model_config = ConfigDict(extra="forbid")

    kind: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", description="the remedy's report_as in agreement.yaml")]
    buyer: str | None = None
    amount: Annotated[str, Field(pattern=r"^\d+\.\d{2}$", description='two decimals, e.g. "3892.03"')] | None = None


class ExpectedMeasure(BaseModel):
    """A financial test's figure as the report shows it: four decimals, the limit as written, the comparison."""

    model_config = ConfigDict(extra="forbid")

    value: Annotated[str, Field(pattern=r"^-?\d+\.\d{4}$", description='four decimals, e.g. "1.4999"')] | None = Field(
        description="null: not computed (figures missing, or a division by zero)"
    )
    limit: str
    test: Literal["at_least", "at_most", "below", "above"]


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
    measure: ExpectedMeasure | None = Field(default=None, description="a financial test's value, limit and test")
    valid: StrictBool | None = Field(default=None, description="an act listed for review: valid or not")


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


def facts_markdown(vocabulary: Vocabulary, form: str) -> str:
    """A page for the people who record facts: every fact type of a form, what it records, each field in words.

    Generated from the form's ``vocabulary.yaml`` (``covenant vocabulary DIR``; ``form`` names the form in
    the title); docs/facts.md is the Amnis form's, kept current by a test, so lint's hints point inside the
    repository. Rule files and scenarios may only name these types and fields.
    """
    lines = [
        f"# The facts of {form}",
        "",
        "Every fact of a fact log (one JSON object per line), and every fact of a scenario, is",
        "one of these types. Every fact also has `id` (unique in the log), `date`",
        "(`2004-04-29`), and may have `agreement` (in a portfolio) and `note` (for people).",
        "A rule's `fact:`, `on:` and `where:` may only name these types and fields, or a",
        "fact a rule of the folder derives. Generated from the form's `vocabulary.yaml`",
        "(docs/vocabulary.md) by `covenant vocabulary DIR`; `covenant schema facts --rules DIR`",
        "gives the same as a JSON Schema. Do not edit by hand.",
        "",
    ]
    for name in sorted(vocabulary.types):
        decl = vocabulary.types[name]
        lines += [f"## {name}", "", _sentence(decl.meaning), ""]
        if not decl.fields:
            lines.append("No fields besides `id` and `date`.")
        for field_name, kind in decl.fields.items():
            meaning = f": {kind.meaning}" if kind.meaning else ""
            words = _kind_words(kind, vocabulary.names)
            lines.append(f"- `{field_name}` ({_presence(kind)}){meaning}. {_sentence(words)}")
        if decl.unique:
            fields = " and ".join(f"`{field_name}`" for field_name in decl.unique)
            lines += ["", f"At most one `{name}` fact per {fields}: a second one is an input error."]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "?", "!")) else ".")


def _presence(kind: Any) -> str:
    """Required, optional, with a default, or required/allowed only with another field's values."""
    if getattr(kind, "default", None) is not None:
        return f"optional, {str(kind.default).lower()} when left out"
    if not kind.optional:
        return "required"
    parts = ["optional"]
    if kind.required_when:
        parts.append(f"required when {_when_words(kind.required_when)}")
    if kind.only_when:
        parts.append(f"only when {_when_words(kind.only_when)}")
    return ", ".join(parts)


def _when_words(when: dict[str, Any]) -> str:
    return " and ".join(
        f"`{name}` is " + " or ".join(f"`{v}`" for v in ([wanted] if isinstance(wanted, str) else wanted))
        for name, wanted in when.items()
    )


def _kind_words(kind: Any, names: dict[str, tuple[str, str]], plural: bool = False) -> str:
    """A declared kind in words, as the person typing the fact needs it."""
    words: dict[str, tuple[str, str]] = {
        "date": ("a date written YYYY-MM-DD (2004-04-29)", "dates written YYYY-MM-DD"),
        "month": ("a month written YYYY-MM (2004-04)", "months written YYYY-MM"),
        "shares": ("a whole number of shares", "whole numbers of shares"),
        "text": ("text", "texts"),
        "identifier": (
            "a name written like an id (letters, digits and _ . : - / #)",
            "names written like ids",
        ),
        "bool": ("`true` or `false`", "`true` or `false`"),
        "party": ("the id of a party of the agreement", "ids of parties of the agreement"),
        "name": ("a name other facts' refs may use", "names"),
        "rule": ("the id of a rule of the folder", "ids of rules of the folder"),
        "clause": ("a clause as the rules write it (4(e))", "clauses as the rules write them"),
    }
    if kind.type == "amount":
        sign = ", may be below zero" if kind.negative else ""
        text = 'an amount in digits ("250000.00": no $ sign, no commas' + sign + ")"
        return "amounts in digits" if plural else text
    if kind.type == "decimal":
        bounds = [f"at least {kind.min}"] if kind.min is not None else []
        bounds += [f"at most {kind.max}"] if kind.max is not None else []
        return "a decimal number written in digits" + (f" ({', '.join(bounds)})" if bounds else "")
    if kind.type == "integer":
        bounds = [f"at least {kind.min}"] if kind.min is not None else []
        bounds += [f"at most {kind.max}"] if kind.max is not None else []
        return "a whole number" + (f" ({', '.join(bounds)})" if bounds else "")
    if kind.type == "text" and kind.pattern is not None:
        return f"text matching `{kind.pattern}`"
    if kind.type == "date" and getattr(kind, "scheduled", None) is not None:
        return (
            f"a date the instrument's schedule (agreement.yaml) gives for the `{kind.scheduled.by}` named (YYYY-MM-DD)"
        )
    if kind.type == "one_of":
        return "one of " + ", ".join(f"`{value}`" for value in kind.values)
    if kind.type == "ref":
        targets = " or ".join("any fact" if t == "any" else f"a `{t}` fact" for t in kind.targets())
        text = f"the id of {targets}"
        for case in kind.cases:
            if case.to in names:
                giver, given = names[case.to]
                text += f"; when {_when_words(case.when)}, the `{given}` of a `{giver}` fact instead"
            else:
                text += f"; when {_when_words(case.when)}, the id of a `{case.to}` fact instead"
        return text
    if kind.type == "list":
        size = []
        if kind.min:
            size.append(f"at least {kind.min}")
        if kind.max:
            size.append(f"at most {kind.max}")
        return f"a list of {_kind_words(kind.of, names, plural=True)}" + (f" ({', '.join(size)})" if size else "")
    single, many = words[kind.type]
    return many if plural else single
