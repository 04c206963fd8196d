"""The portfolio file: which agreements, on which forms, with which of their own terms.

A fund lists its agreements in one YAML file (``include`` may split it)::

    portfolio: fund-iii
    agreements:
      - id: amnis-2003
        rules: ../rules/amnis-spa-2003     # the form, relative to this file
        terms:                             # overrides the folder's agreement.yaml
          title: Securities Purchase Agreement, Amnis Systems Inc.
          buyers:
            - {id: sds, name: SDS Merchant Fund, LP, principal: "500000.00"}

Each agreement's terms are the form's ``agreement.yaml`` merged with its own,
validated before anything is evaluated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a dependency; json writes the same bytes, slower
    _orjson = None  # type: ignore[assignment]

from covenant.diagnostics import InputError, Problem
from covenant.language.basics import RULE_ID
from covenant.language.loader import AGREEMENT_FILE, locate, read_yaml, term_problems
from covenant.language.model import Agreement
from covenant.language.yamlfile import plain_data
from covenant.pipeline import (
    evaluator_for,
    resolve_folder,
)


# --- the portfolio file ---------------------------------------------------------------------------------------------
class AgreementEntry(BaseModel):
    """One agreement of the portfolio: its id, its form, and the terms that differ from the form's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=RULE_ID, description="the agreement's id; facts name it in `agreement`")]
    rules: Annotated[str, Field(min_length=1, description="the form's rule folder, relative to the portfolio file")]
    terms: dict[str, Any] = Field(
        default_factory=dict,
        description="keys of agreement.yaml (title, buyers, debentures, calendar...) that replace the form's",
    )


class PortfolioPart(BaseModel):
    """A file of more agreements, named by the portfolio file's ``include``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agreements: list[AgreementEntry] = Field(min_length=1)


class PortfolioFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    portfolio: Annotated[str, Field(pattern=RULE_ID)] | None = Field(
        default=None, description="the portfolio's name (default: the file's name)"
    )
    agreements: list[AgreementEntry] = Field(default_factory=list)
    include: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list,
        description="files of more agreements (`agreements:` only), relative to this file: a portfolio of any size",
    )


@dataclass(frozen=True)
class Member:
    """An agreement of the portfolio, with its terms merged over its form's."""

    id: str
    rules: Path
    agreement: Agreement


@dataclass(frozen=True)
class PortfolioSpec:
    name: str
    file: str
    members: tuple[Member, ...]  # sorted by id: the order of the report

    def by_id(self) -> dict[str, Member]:
        return {m.id: m for m in self.members}


def merge_terms(base: dict[str, Any], terms: dict[str, Any]) -> dict[str, Any]:
    """The form's terms with the agreement's over them: mappings merge key by key, anything else is replaced.

    So ``calendar: {mail_delay_days: 3}`` changes one convention and keeps the
    others, while ``buyers: [...]`` is the agreement's whole list of Buyers.
    """
    merged = dict(base)
    for key, value in terms.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_terms(merged[key], value)
        else:
            merged[key] = value
    return merged


def _problems(error: ValidationError, tree: Any, display: str, prefix: Sequence[int | str]) -> list[Problem]:
    problems = []
    for item in error.errors():
        path = [*prefix, *(p for p in item["loc"] if not (isinstance(p, str) and p.endswith("]")))]
        line, column = locate(tree, path)
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (see docs/portfolios.md)"
        elif item["type"] == "missing":
            message = "required key is missing"
        field_name = ".".join(str(p) for p in path) or None
        problems.append(Problem(display, line, field_name, message, column))
    return problems


def _read(path: Path, model: type[BaseModel]) -> tuple[Any, Any]:
    """One portfolio file or included file, validated; a file that is not one at all is one problem, not a listing.

    A YAML file of something else would otherwise have each of its keys
    quoted back ("password: unknown key"), line by line.
    """
    tree = read_yaml(path)
    if not isinstance(tree, dict) or not ({"agreements", "include"} & set(tree)):
        raise InputError(
            [Problem(str(path), 1, None, "not a portfolio file: it has no `agreements:` (see docs/portfolios.md)")]
        )
    try:
        return tree, model.model_validate(plain_data(tree))
    except ValidationError as error:
        raise InputError(_problems(error, tree, str(path), [])) from None


def load_portfolio(path: Path, include_roots: Sequence[Path] = ()) -> PortfolioSpec:
    """Read and validate a portfolio file and the files it includes; every problem comes with its file and line.

    Each file is read with ``language.yamlfile.read_yaml`` (safe YAML, at most 1 MB):
    a portfolio too big for one file lists the others in ``include``. An
    included file must be inside the portfolio file's folder, or inside one of
    ``include_roots`` (``--include-root``), links resolved: a portfolio
    someone else wrote cannot make the monitor read ``/etc/...`` and quote it
    back in its messages.
    """
    display = str(path)
    tree, parsed = _read(path, PortfolioFile)
    assert isinstance(parsed, PortfolioFile)
    problems: list[Problem] = []
    files: list[tuple[Path, Any, list[AgreementEntry]]] = [(path, tree, parsed.agreements)]
    roots = [resolve_folder(root) for root in (path.parent, *include_roots)]
    for number, name in enumerate(parsed.include):
        part = path.parent / name
        line, column = locate(tree, ["include", number])
        try:
            resolved = part.resolve()
        except (OSError, RuntimeError) as error:
            problems.append(Problem(display, line, f"include.{number}", f"cannot resolve the path: {error}", column))
            continue
        if not any(resolved.is_relative_to(root) for root in roots):
            message = (
                "outside the portfolio's folder: an included file must be in it or below it "
                "(or under a folder given with --include-root)"
            )
            problems.append(Problem(display, line, f"include.{number}", message, column))
            continue
        if not part.is_file():
            problems.append(Problem(display, line, f"include.{number}", f"no such file {part}", column))
            continue
        try:
            part_tree, part_parsed = _read(part, PortfolioPart)
        except InputError as error:
            problems.extend(error.problems)
            continue
        assert isinstance(part_parsed, PortfolioPart)
        files.append((part, part_tree, part_parsed.agreements))
    if not problems and not any(entries for _, _, entries in files):
        line, column = locate(tree, ["agreements"])
        problems.append(Problem(display, line, "agreements", "the portfolio lists no agreement", column))
    members: dict[str, Member] = {}
    places: dict[str, str] = {}
    forms: dict[Path, dict[str, Any]] = {}
    for file, file_tree, entries in files:
        for index, entry in enumerate(entries):
            member, found = _member(file, file_tree, index, entry, forms)
            if member is not None and member.id in members:
                line, column = locate(file_tree, ["agreements", index, "id"])
                message = f"agreement {entry.id!r} is listed twice (first at {places[entry.id]})"
                found.append(Problem(str(file), line, "id", message, column))
            elif member is not None:
                members[member.id] = member
                places[member.id] = f"{file}:{locate(file_tree, ['agreements', index, 'id'])[0]}"
            problems.extend(found)
    if problems:
        raise InputError(problems)
    return PortfolioSpec(
        name=parsed.portfolio or path.stem,
        file=display,
        members=tuple(members[k] for k in sorted(members)),
    )


def _member(
    file: Path, tree: Any, index: int, entry: AgreementEntry, forms: dict[Path, dict[str, Any]]
) -> tuple[Member | None, list[Problem]]:
    """One entry with its terms merged over its form's, or the problems with it."""
    display = str(file)
    where: list[int | str] = ["agreements", index]
    try:
        folder = resolve_folder(file.parent / entry.rules)
    except InputError as error:
        line, column = locate(tree, [*where, "rules"])
        return None, [Problem(display, line, "rules", error.problems[0].message, column)]
    if folder not in forms:
        if not (folder / AGREEMENT_FILE).is_file():
            line, column = locate(tree, [*where, "rules"])
            return None, [Problem(display, line, "rules", f"no rule folder with {AGREEMENT_FILE} at {folder}", column)]
        # The rule files are checked here, once per folder; the form's own terms are the base of each agreement's.
        forms[folder] = evaluator_for(folder).form.agreement.model_dump(exclude_none=True)
    if "id" in entry.terms:
        line, column = locate(tree, [*where, "terms", "id"])
        return None, [Problem(display, line, "terms.id", "the agreement's id is the entry's `id`", column)]
    merged = merge_terms(forms[folder], plain_data(entry.terms))
    merged["id"] = entry.id
    try:
        agreement = Agreement.model_validate(merged)
    except ValidationError as error:
        return None, _problems(error, tree, display, [*where, "terms"])
    problems = []
    for path, message in term_problems(agreement):
        line, column = locate(tree, [*where, "terms", *path])
        problems.append(Problem(display, line, ".".join(map(str, [*where, "terms", *path])), message, column))
    if problems:
        return None, problems
    return Member(id=entry.id, rules=folder, agreement=agreement), []
