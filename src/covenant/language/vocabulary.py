"""A form's fact vocabulary, declared in its rule folder (``vocabulary.yaml``), turned into fact models.

Which facts a log may record belongs to the agreement form, not to the
program: a lawyer who needs a dividend, a cash balance or a notice from a
holder writes a few lines of YAML instead of asking for a Python class
(docs/vocabulary.md). The file is read like a rule file (safe YAML with
positions, every mistake a ``Problem`` with file, line and field; the kinds
of field and their grammar are ``fieldkinds.py``), then each
fact type becomes a pydantic model built at load with ``create_model`` from
the very field types ``facts.py`` declares (``FactDate``, ``Amount``,
``Identifier``...), so a generated model accepts, converts and refuses
exactly what the hand-written one does, with the same messages and at the
same speed (tests/test_vocabulary.py holds the Amnis form to that).

This module lives in ``language/`` because it reads a file of the rule
folder with ``yamlfile.read_yaml``/``locate`` (the folder loader, loader.py,
loads it with the rule files); it imports ``facts`` (a floor below) for the
field types and the ``Fact`` it builds, and the ``Vocabulary`` it builds is
the ``facts.FactVocabulary`` the fact reader takes.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    Field,
    TypeAdapter,
    ValidationError,
    create_model,
)

from covenant.diagnostics import InputError, Problem
from covenant.facts import (
    COMMON_FIELDS,
    Fact,
    FactBase,
    clip,
    describe_error,
)
from covenant.language.fieldkinds import (
    ANY_FACT,
    KINDS,
    BoolKind,
    DateKind,
    DecimalKind,
    FactTypeDecl,
    IntegerKind,
    ListKind,
    NameKind,
    OneOfKind,
    RefKind,
    VocabularyDecl,
    field_definition,
)
from covenant.language.plainwords import did_you_mean, drop_misspelt_missing, place
from covenant.language.yamlfile import locate, plain_data, read_yaml

VOCABULARY_FILE = "vocabulary.yaml"
"""The form's fact vocabulary: in the rule folder beside ``agreement.yaml``, not a rule file."""

_When = tuple[tuple[str, frozenset[str]], ...]
"""A case's ``when:`` as the checks read it: (field, the values that match)."""


# The generated vocabulary.


@dataclass(frozen=True)
class Vocabulary:
    """The fact models of one form, and what the checks across facts need to know about their fields."""

    file: str
    declaration: VocabularyDecl
    models: dict[str, type[FactBase]]
    """Fact type -> its model, in declaration order (what ``facts.FACT_TYPES`` is for the Amnis form)."""
    union: Any
    adapter: TypeAdapter[Any]
    refs: dict[str, dict[str, RefKind]]
    """Fact type -> its ``ref`` fields (a list of refs included)."""
    names: dict[str, tuple[str, str]]
    """A shared name (``offering``) -> the fact type and field that give it."""
    fields_of_kind: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    """A kind (``party``, ``rule``, ``clause``) -> every (fact type, field) of it, lists included."""
    conditions: dict[str, tuple[tuple[str, bool, dict[str, Any]], ...]] = field(default_factory=dict)
    """Fact type -> (field, required (else only allowed), when) for its fields with required_when/only_when."""
    party_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Fact type -> its ``party`` fields (lists included): looked up once per fact, not searched."""
    scheduled_fields: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    """Fact type -> (date field, the field naming the kind of scheduled payment) for dates with ``scheduled:``."""
    validate: Callable[[Any], Any] = field(default=None, repr=False, compare=False)  # type: ignore[assignment]
    """The union's pydantic-core validator itself: ``TypeAdapter.validate_python`` without its Python wrapper,
    which costs a few percent of reading a log. Set by ``build_vocabulary``."""
    unique: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Fact type -> the fields of which no two facts of it may have the same values (its ``unique:``)."""
    ref_plan: dict[str, tuple[tuple[str, tuple[tuple[_When, str], ...], str], ...]] = field(default_factory=dict)
    """Fact type -> (ref field, its cases as (field, values) pairs -> target, the target otherwise).

    ``ref_target`` read for every line of a log (``ref_problems``), with the cases' values made sets once.
    """

    @property
    def types(self) -> dict[str, FactTypeDecl]:
        """Fact type -> its declaration (meaning and fields), in the order the file lists them."""
        return self.declaration.types

    def refs_to_facts(self) -> dict[str, str]:
        """Fact type -> field, for refs that always name another fact of the log (``facts.REFS_TO_FACTS``)."""
        out: dict[str, str] = {}
        for kind, refs in self.refs.items():
            for name, ref in refs.items():
                if not ref.cases and all(t not in self.names for t in ref.targets()):
                    out[kind] = name
        return out

    def ref_target(self, fact: Fact, name: str) -> str:
        """What ``fact``'s ref ``name`` names here: a shared name (``offering``) or ``any`` fact of a type."""
        ref = self.refs[fact.type][name]
        for case in ref.cases:
            if all(_matches(fact.fields.get(other), wanted) for other, wanted in case.when.items()):
                return case.to
        targets = ref.targets()
        return targets[0] if len(targets) == 1 and targets[0] in self.names else ANY_FACT

    def parse_fact(self, raw: dict[str, Any], file: str, line: int, order: int) -> Fact:
        """Validate one decoded JSON object as ``facts.parse_fact`` does; raise ``InputError`` with every problem."""
        try:
            model = self.validate(raw)
        except ValidationError as error:
            raise InputError(
                Problem(file, line, self._field_path(e["loc"]), describe_error(e)) for e in error.errors()
            ) from None
        data = {
            name: list(value) if isinstance(value, list) else value
            for name, value in model.__dict__.items()
            if value is not None and name not in COMMON_FIELDS
        }
        conditions = self.conditions.get(raw["type"])
        if conditions:
            problems = [
                Problem(file, line, name, f"{'required' if required else 'allowed only'} when {_words(when)}")
                for name, required, when in conditions
                if (name in data) != required and _all_match(data, when) == required
            ]
            if problems:
                raise InputError(problems)
        return Fact(
            id=model.id,  # type: ignore[attr-defined]
            type=raw["type"],
            date=model.date,  # type: ignore[attr-defined]
            fields=data,
            file=file,
            line=line,
            order=order,
            agreement=model.agreement,  # type: ignore[attr-defined]
            note=model.note,  # type: ignore[attr-defined]
        )

    def unique_key(self, fact: Fact) -> tuple[Any, ...] | None:
        """What no other fact may share with ``fact``: its type and the values of its ``unique:`` fields.

        ``None`` when its type declares no ``unique:``, or the fact leaves one of those fields out.
        """
        names = self.unique.get(fact.type)
        if names is None:
            return None
        values = tuple(fact.fields.get(name) for name in names)
        if any(value is None or isinstance(value, list) for value in values):
            return None
        return (fact.type, *values)

    def unique_problem(self, fact: Fact, first: Fact) -> Problem:
        """``fact`` repeats ``first``'s values of its type's ``unique:`` fields: an input error on the first field."""
        names = self.unique[fact.type]
        values = " and ".join(f"{name} {str(fact.fields[name])!r}" for name in names)
        message = (
            f"a second {fact.type} fact with {values}; the first is {first.id!r} at {first.file}:{first.line} "
            f"(one {fact.type} fact per {' and '.join(names)})"
        )
        return Problem(fact.file, fact.line, names[0], message)

    def _field_path(self, loc: Sequence[int | str]) -> str:
        parts = [str(p) for p in loc]
        if parts and parts[0] in self.models:
            parts = parts[1:]
        return clip(".".join(parts), 60) or "type"

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of one fact (validation mode), each type and field described by its meaning."""
        return TypeAdapter(self.union).json_schema(mode="validation")

    # The checks across facts, from the declared kinds: what facts.py writes out for the Amnis form
    # (``_ref_problems``, ``buyer_problems``, ``reference_problems``), with the same messages.

    def ref_problems(
        self, facts: Sequence[Fact], rejected_ids: dict[str, str], rejected_names: dict[str, dict[str, str]]
    ) -> Iterable[tuple[Fact, Problem]]:
        """Facts whose ref names no fact of ``facts`` (or no fact giving that name), and why.

        ``rejected_names`` holds, per shared name, the values given by lines that were refused, and where.
        """
        ids = {f.id for f in facts}
        given = {
            name: {f.fields.get(field) for f in facts if f.type == kind} for name, (kind, field) in self.names.items()
        }
        plan = self.ref_plan
        for fact in facts:
            refs = plan.get(fact.type)
            if refs is None:
                continue
            fields = fact.fields
            for name, cases, default in refs:
                value = fields.get(name)
                if value is None:
                    continue
                target = default
                for when, to in cases:
                    if all(fields.get(other) in wanted for other, wanted in when):
                        target = to
                        break
                for ref in value if isinstance(value, list) else (value,):
                    if target in given and ref not in given[target]:
                        kind, field_name = self.names[target]
                        message = f"no {kind} fact has {field_name} {ref!r} ({_article(target)} {target})"
                        place = rejected_names.get(target, {}).get(ref)
                        if place is not None:
                            message = f"names {target} {ref!r}, whose {kind} fact is invalid or was skipped ({place})"
                        yield fact, Problem(fact.file, fact.line, name, message)
                    elif target not in given and ref not in ids:
                        message = f"no fact has id {ref!r}"
                        if ref in rejected_ids:
                            message = f"names fact {ref!r}, which is invalid or was skipped ({rejected_ids[ref]})"
                        yield fact, Problem(fact.file, fact.line, name, message)

    def party_problems(self, fact: Fact, parties: Iterable[str], word: str) -> list[Problem]:
        """Every party a fact names must be a party of the agreement (``word``: what the form calls them)."""
        names = self.party_fields.get(fact.type)
        if not names:
            return []
        known = parties if isinstance(parties, set | frozenset) else set(parties)
        problems = []
        for name in names:
            value = fact.fields.get(name)
            for party in value if isinstance(value, list) else [value] if value is not None else []:
                if party not in known:
                    message = f"unknown {word} {party!r}; the agreement's {word}s are {', '.join(sorted(known))}"
                    problems.append(Problem(fact.file, fact.line, name, message))
        return problems

    def schedule_problems(self, fact: Fact, schedule: Mapping[str, frozenset[Any]]) -> list[Problem]:
        """A ``scheduled:`` date must be a date the instrument schedules for the kind of payment the fact names."""
        problems = []
        for name, by in self.scheduled_fields.get(fact.type, ()):
            value, pays = fact.fields.get(name), fact.fields.get(by)
            if value is None or pays is None:
                continue
            dates = schedule.get(str(pays), frozenset())
            if value in dates:
                continue
            if not dates:
                message = f"{value} is not a scheduled date: agreement.yaml's instrument schedules no {pays}"
                problems.append(Problem(fact.file, fact.line, name, message))
                continue
            nearest = min(dates, key=lambda day: (abs((day - value).days), day))
            message = f"{value} is not a date the instrument schedules for {pays} ({by}); the nearest is {nearest}"
            problems.append(Problem(fact.file, fact.line, name, message))
        return problems

    def folder_problems(self, fact: Fact, rule_ids: Iterable[str], clauses: Iterable[str]) -> list[Problem]:
        """A ``rule`` field names a rule of the folder and a ``clause`` field one of its clauses."""
        problems = []
        for kind, known, what in (("rule", set(rule_ids), "rule id"), ("clause", set(clauses), "clause")):
            for fact_type, name in self.fields_of_kind.get(kind, ()):
                value = fact.fields.get(name) if fact_type == fact.type else None
                if value is None or value in known:
                    continue
                close = difflib.get_close_matches(str(value), sorted(known), n=1, cutoff=0.6)
                every = f"the {what}s of the rules: {', '.join(sorted(known))}"
                hint = f"did you mean {close[0]!r}?" if close else every
                message = f"no rule of this folder has the {what} {value!r}"
                problems.append(Problem(fact.file, fact.line, name, message, hint=hint))
        return problems


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _all_match(fields: dict[str, Any], when: dict[str, Any]) -> bool:
    return all(_matches(fields.get(other), wanted) for other, wanted in when.items())


def _words(when: dict[str, Any]) -> str:
    """``{what: [a, b]}`` -> ``what is a or b``, for a message."""
    return " and ".join(
        f"{name} is {wanted}" if isinstance(wanted, str) else f"{name} is {' or '.join(wanted)}"
        for name, wanted in when.items()
    )


def _matches(value: Any, wanted: str | list[str]) -> bool:
    return value in wanted if isinstance(wanted, list) else value == wanted


def load_vocabulary(path: Path) -> Vocabulary:
    """Read, check and build a form's ``vocabulary.yaml``; raise ``InputError`` with every problem."""
    display = str(path)
    tree = read_yaml(path)
    if not isinstance(tree, dict):
        raise InputError([Problem(display, 1, None, "expected a mapping with types:", code="vocabulary")])
    try:
        declaration = VocabularyDecl.model_validate(plain_data(tree))
    except ValidationError as error:
        raise InputError(_declaration_problems(error, tree, display)) from None
    problems = _consistency_problems(declaration, tree, display)
    if problems:
        raise InputError(problems)
    return build_vocabulary(declaration, display)


def _declaration_problems(error: ValidationError, tree: Any, display: str) -> list[Problem]:
    problems = []
    located = [(tuple(_file_path(item["loc"])), item) for item in error.errors()]
    for found, item in drop_misspelt_missing(located):  # a misspelt key is one "did you mean", not two lines
        path = list(found)
        line, column = locate(tree, path)
        kind = item["type"]
        hint = None
        if kind == "extra_forbidden":
            text, shown = f"unknown key {clip(repr(path[-1]), 60)}", path[:-1]
            hint = did_you_mean(str(path[-1]), _DECLARATION_KEYS)
        elif kind == "missing":
            text, shown = f"required key {path[-1]!r} is missing", path[:-1]
        elif kind == "union_tag_invalid":
            tag = item["ctx"]["tag"]
            text, shown = f"unknown kind of field {clip(repr(tag), 60)}; the kinds are {', '.join(KINDS)}", path
            hint = did_you_mean(str(tag), KINDS)
        elif kind == "union_tag_not_found":
            text, shown = f"a field needs type: (one of {', '.join(KINDS)})", path
        elif kind == "string_pattern_mismatch":
            text, shown = "a name of lower-case letters, digits and _ (such as cash_balance)", path
        else:
            text, shown = clip(str(item["msg"]).removeprefix("Value error, "), 300), path
        problems.append(Problem(display, line, place(shown), text, column, code="vocabulary", hint=hint))
    return problems


_DECLARATION_KEYS = frozenset(
    {"types", "meaning", "fields", "optional", "type", "negative", "min", "max", "places", "pattern"}
    | {"values", "default", "to", "cases", "when", "names", "of", "required_when", "only_when", "imports", "fact"}
)


def _file_path(loc: Sequence[int | str]) -> list[int | str]:
    """The error's place in the file: without the kind pydantic adds after a field (``ref``) or ``[key]``."""
    path: list[int | str] = []
    for part in loc:
        after_field = (len(path) >= 2 and path[-2] == "fields") or path[-1:] == ["of"]
        if part == "[key]" or (after_field and part in KINDS and isinstance(part, str)):
            continue
        path.append(part)
    return path


def _consistency_problems(declaration: VocabularyDecl, tree: Any, display: str) -> list[Problem]:
    """What each field may not say on its own: refs name declared types or names, cases name one_of values."""
    problems: list[Problem] = []

    def problem(path: list[int | str], message: str, hint: str | None = None) -> None:
        line, column = locate(tree, path)
        problems.append(Problem(display, line, place(path), message, column, code="vocabulary", hint=hint))

    names = {kind.names for decl in declaration.types.values() for kind in _kinds(decl) if isinstance(kind, NameKind)}
    known = set(declaration.types) | names | {ANY_FACT}
    models: dict[str, str] = {}
    for type_name, decl in declaration.types.items():
        model_name = _model_name(type_name)
        if model_name in models:
            problem(["types", type_name], f"reads as {models[model_name]!r} in the schema; choose another name")
        models[model_name] = type_name
        for field_name, kind in decl.fields.items():
            at: list[int | str] = ["types", type_name, "fields", field_name]
            if field_name in COMMON_FIELDS:
                problem(at, f"every fact has {field_name!r}; a type does not declare it")
            item = kind.of if isinstance(kind, ListKind) else kind
            if isinstance(kind, ListKind) and kind.min is not None and kind.max is not None and kind.min > kind.max:
                problem(at, "min is more than max")
            if isinstance(kind, ListKind) and (kind.of.optional or kind.of.required_when or kind.of.only_when):
                problem([*at, "of"], "optional, required_when and only_when are for the list, not its items")
            bounded = isinstance(item, IntegerKind | DecimalKind) and None not in (item.min, item.max)
            if bounded and item.min > item.max:  # type: ignore[union-attr, operator]
                problem(at, "min is more than max")
            if isinstance(kind, BoolKind) and kind.default is not None and kind.optional:
                problem(at, "a field with a default is not optional; remove optional:")
            if isinstance(item, OneOfKind) and len(set(item.values)) != len(item.values):
                problem([*at, "values"], "a value is listed twice")
            if isinstance(item, RefKind):
                for target in (*item.targets(), *(case.to for case in item.cases)):
                    if target not in known:
                        hint = did_you_mean(target, known)
                        problem([*at, "to"], f"no fact type or name {target!r} in this vocabulary", hint)
                for number, case in enumerate(item.cases):
                    for other, wanted in case.when.items():
                        _check_case(decl, other, wanted, [*at, "cases", number, "when"], problem)
            if isinstance(item, DateKind) and item.scheduled is not None:
                by = decl.fields.get(item.scheduled.by)
                if not isinstance(by, OneOfKind):
                    problem(
                        [*at, "scheduled", "by"],
                        f"scheduled: by names {item.scheduled.by!r}, which is not a one_of field of this type",
                        "name the field whose values are the schedule's kinds (interest, principal)",
                    )
            for key in ("required_when", "only_when"):
                when = getattr(kind, key)
                if when is not None and not kind.optional:
                    problem([*at, key], f"{key}: is for an optional field; add optional: true")
                for other, wanted in (when or {}).items():
                    _check_case(decl, other, wanted, [*at, key], problem)
        named: set[str] = set()
        for number, name in enumerate(decl.unique or ()):
            at = ["types", type_name, "unique", number]
            kind = decl.fields.get(name)
            if kind is None:
                problem(at, f"{name!r} is not a field of this type", did_you_mean(name, decl.fields))
            elif isinstance(kind, ListKind):
                problem(at, f"{name!r} is a list; name fields of one value")
            if name in named:
                problem(at, f"{name!r} is named twice")
            named.add(name)
    for importer, declared in declaration.imports.items():
        target = declaration.types.get(declared.fact)
        if target is None:
            hint = did_you_mean(declared.fact, declaration.types)
            problem(["imports", importer, "fact"], f"no fact type {declared.fact!r} in this vocabulary", hint)
            continue
        for word, field_name in declared.fields.items():
            if field_name not in target.fields:
                hint = did_you_mean(field_name, target.fields)
                problem(["imports", importer, "fields", word], f"{declared.fact} has no field {field_name!r}", hint)
    return problems


def _check_case(decl: FactTypeDecl, other: str, wanted: str | list[str], at: list[int | str], problem: Any) -> None:
    """A case's ``when:`` names a one_of field of the same type, and values it may take."""
    target = decl.fields.get(other)
    if not isinstance(target, OneOfKind):
        problem([*at, other], f"when: names {other!r}, which is not a one_of field of this type")
        return
    for value in [wanted] if isinstance(wanted, str) else wanted:
        if value not in target.values:
            problem([*at, other], f"{value!r} is not one of {other}'s values", did_you_mean(value, target.values))


def _kinds(decl: FactTypeDecl) -> Iterable[Any]:
    for kind in decl.fields.values():
        yield kind.of if isinstance(kind, ListKind) else kind


def _model_name(type_name: str) -> str:
    """``use_of_proceeds`` -> ``UseOfProceeds``: the name the JSON Schema gives the type."""
    return "".join(part.capitalize() for part in type_name.split("_"))


def build_vocabulary(declaration: VocabularyDecl, file: str = VOCABULARY_FILE) -> Vocabulary:
    """One pydantic model per fact type, the discriminated union of them all, and the tables of refs and kinds."""
    models: dict[str, type[FactBase]] = {}
    refs: dict[str, dict[str, RefKind]] = {}
    names: dict[str, tuple[str, str]] = {}
    of_kind: dict[str, list[tuple[str, str]]] = {}
    conditions: dict[str, list[tuple[str, bool, dict[str, Any]]]] = {}
    scheduled: dict[str, list[tuple[str, str]]] = {}
    for type_name, decl in declaration.types.items():
        fields: dict[str, Any] = {"type": (Literal[type_name], ...)}
        for field_name, kind in decl.fields.items():
            fields[field_name] = field_definition(kind)
            item = kind.of if isinstance(kind, ListKind) else kind
            of_kind.setdefault(item.type, []).append((type_name, field_name))
            if isinstance(item, RefKind):
                refs.setdefault(type_name, {})[field_name] = item
            if isinstance(item, NameKind):
                names.setdefault(item.names, (type_name, field_name))
            if isinstance(kind, DateKind) and kind.scheduled is not None:
                scheduled.setdefault(type_name, []).append((field_name, kind.scheduled.by))
            for required, when in ((True, kind.required_when), (False, kind.only_when)):
                if when is not None:
                    conditions.setdefault(type_name, []).append((field_name, required, when))
        models[type_name] = create_model(  # type: ignore[call-overload]
            _model_name(type_name), __base__=FactBase, __doc__=decl.meaning, __module__=__name__, **fields
        )
    union = Annotated[Union[tuple(models.values())], Field(discriminator="type")]  # noqa: UP007
    adapter = TypeAdapter(union)
    return Vocabulary(
        file=file,
        declaration=declaration,
        models=models,
        union=union,
        adapter=adapter,
        validate=adapter.validator.validate_python,
        refs=refs,
        names=names,
        fields_of_kind={kind: tuple(places) for kind, places in of_kind.items()},
        conditions={kind: tuple(rules) for kind, rules in conditions.items()},
        party_fields=_by_type(of_kind.get("party", ())),
        unique={kind: tuple(decl.unique) for kind, decl in declaration.types.items() if decl.unique},
        scheduled_fields={kind: tuple(pairs) for kind, pairs in scheduled.items()},
        ref_plan={
            kind: tuple((name, *_ref_plan(ref, names)) for name, ref in fields.items()) for kind, fields in refs.items()
        },
    )


def _ref_plan(ref: RefKind, names: dict[str, tuple[str, str]]) -> tuple[tuple[tuple[_When, str], ...], str]:
    """(cases, target otherwise) of one ref, as ``ref_target`` decides them, for ``Vocabulary.ref_plan``."""
    cases = tuple(
        (
            tuple(
                (other, frozenset([wanted] if isinstance(wanted, str) else wanted)) for other, wanted in c.when.items()
            ),
            c.to,
        )
        for c in ref.cases
    )
    targets = ref.targets()
    return cases, targets[0] if len(targets) == 1 and targets[0] in names else ANY_FACT


def _by_type(places: Iterable[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for fact_type, name in places:
        out.setdefault(fact_type, []).append(name)
    return {fact_type: tuple(names) for fact_type, names in out.items()}
