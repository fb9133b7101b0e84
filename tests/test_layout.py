"""The layout of the package-neutral core (issue 12): a package is its adapter folder and
the registry's line. Outside `factory_app/accounting/providers/<key>/` and the registry
(`factory_app/accounting/__init__.py`), no Python module of Factory names a package in
its code (its names and strings; comments and docstrings may use one as an example),
and no template does: pages show the adapter's display name. The same for the sandbox:
outside `sandbox/faces/<key>/` and the faces' list (`sandbox/faces/__init__.py`), no
module names a package, and the books (sandbox/ledger/) and the core use no field name of
a face's API: their records are package-neutral, each face translates them."""
from __future__ import annotations

import ast
from pathlib import Path

from factory_app.accounting import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "factory_app"


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                ids.add(id(first.value))
    return ids


def _words(tree: ast.AST):
    """Every name and string of the module's code, docstrings left out."""
    docstrings = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.value
        elif isinstance(node, ast.Name):
            yield node.id
        elif isinstance(node, ast.Attribute):
            yield node.attr
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.name
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            yield from (alias.name for alias in node.names)
            if isinstance(node, ast.ImportFrom) and node.module:
                yield node.module


def _outside_packages(path: Path) -> bool:
    relative = path.relative_to(APP).as_posix()
    return not (relative.startswith(("accounting/providers/", "migrations/")) or relative == "accounting/__init__.py")


def test_no_module_outside_a_packages_folder_and_the_registry_names_a_package():
    assert REGISTRY  # the packages whose names are looked for
    found = []
    for path in sorted(APP.rglob("*.py")):
        if not _outside_packages(path):
            continue
        for word in _words(ast.parse(path.read_text())):
            for key in REGISTRY:
                if key in word.lower():
                    found.append(f"{path.relative_to(ROOT)}: {word!r}")
    assert found == []


def test_no_sandbox_module_outside_a_face_and_the_faces_list_names_a_package():
    sandbox = ROOT / "sandbox"
    found = []
    for path in sorted(sandbox.rglob("*.py")):
        relative = path.relative_to(sandbox).as_posix()
        if relative.startswith("faces/"):  # each face's folder, and the faces' list
            continue
        found += [f"{path.relative_to(ROOT)}: {word!r}" for word in _words(ast.parse(path.read_text()))
                  for key in REGISTRY if key in word.lower()]
    assert found == []


def test_no_template_names_a_package():
    found = [f"{path.relative_to(ROOT)}: {key}" for path in sorted((ROOT / "templates").rglob("*.html"))
             for key in REGISTRY if key in path.read_text().lower()]
    assert found == []


def test_the_check_sees_a_package_named_in_code():
    """The check itself: a name or string naming a package is found, a comment or a
    docstring isn't."""
    key = next(iter(REGISTRY))
    code = f'"""Docstring about {key}."""\n# a comment about {key}\nurl = "/webhooks/{key}"\n{key}_timeout = 3\n'
    assert sorted(w for w in _words(ast.parse(code)) if key in w.lower()) == [f"/webhooks/{key}", f"{key}_timeout"]


def _spec_field_names(face) -> set[str]:
    """The compound field names (ContactID, LineItems...) of a face's OpenAPI files."""
    import re

    import yaml
    directory = Path(getattr(face.validator, "SPEC_DIR", "") or "/nonexistent")
    names: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "properties" and isinstance(value, dict):
                    names.update(value)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    for path in sorted(directory.glob("*.yaml")):
        walk(yaml.safe_load(path.read_text()))
    return {n for n in names if re.fullmatch(r"[A-Z][a-z]+(?:[A-Z][a-z0-9]*|ID)+", n)}


def test_the_books_keep_no_package_shape():
    """The ledger and the core are package-neutral: no name or string of their code is a
    field name of a face's API (each face translates the books' records both ways)."""
    from sandbox.faces import FACES, load
    fields = set()
    for key in FACES:
        fields |= _spec_field_names(load(key))
    assert len(fields) > 100, "the faces' spec files were not found"
    found = []
    for folder in ("ledger", "core"):
        for path in sorted((ROOT / "sandbox" / folder).rglob("*.py")):
            found += [f"{path.relative_to(ROOT)}: {word!r}" for word in _words(ast.parse(path.read_text()))
                      if word in fields]
    assert found == []
