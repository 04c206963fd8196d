"""``covenant new FOLDER``: a rule folder that works wherever it is created.

A lawyer starting a new form copies nothing by hand: the folder gets
``agreement.yaml`` (naming its text files, so ``--text`` is never needed),
the agreement's text, the facts its logs record (``vocabulary.yaml``), one
example rule, its scenarios, and a copy of the
JSON Schemas in ``FOLDER/schemas/``. Every file names its schema by a path
relative to itself inside the folder, so an editor checks the files as they
are typed wherever the folder lives, in the repository or not. The example
files are data (``template/``), not code; the copied schemas are generated
from the same models that validate the files.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from covenant.diagnostics import InputError, Problem
from covenant.language.schema import SCHEMAS, render_schema
from covenant.language.vocabulary import VOCABULARY_FILE, load_vocabulary

TEMPLATE = "template"
SCHEMA_FOLDER = "schemas"


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "agreement"


def _template_files() -> list[tuple[str, str]]:
    """(path inside the new folder, text) of every template file, sorted."""
    root = resources.files("covenant.language").joinpath(TEMPLATE)
    files: list[tuple[str, str]] = []
    pending = [(root, "")]
    while pending:
        folder, prefix = pending.pop()
        for entry in folder.iterdir():
            if entry.is_dir():
                if entry.name != "__pycache__":
                    pending.append((entry, f"{prefix}{entry.name}/"))
            else:
                files.append((f"{prefix}{entry.name}", entry.read_text(encoding="utf-8")))
    return sorted(files)


def create_folder(folder: Path, title: str | None = None) -> list[Path]:
    """Write a new rule folder; refuse a folder that exists and is not empty. Returns the files written."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError([Problem(str(folder), None, None, "already exists and is not empty: choose a new folder")])
    agreement_id = _slug(folder.resolve().name)
    written: list[Path] = []
    for relative, text in _template_files():
        text = text.replace("__ID__", agreement_id).replace("__TITLE__", title or f"The {agreement_id} agreement")
        written.append(_write(folder / relative, text))
    vocabulary = load_vocabulary(folder / VOCABULARY_FILE)  # the facts' and scenarios' schemas are the new form's
    for file_name, _, _ in sorted(SCHEMAS.values()):
        kind = next(k for k, v in SCHEMAS.items() if v[0] == file_name)
        written.append(_write(folder / SCHEMA_FOLDER / file_name, render_schema(kind, vocabulary)))
    return written


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    return path
