"""The README's "How it works" describes the pipeline that runs: its pass
table lists every pass of ``pipeline.PASSES``, in order, with its stage."""

import re
from pathlib import Path

from s2sgrad import pipeline

README = Path(__file__).resolve().parent.parent / "README.md"


def _section(title):
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def _pass_table():
    """(pass, stage) per row of the first table whose header starts with ``pass``."""
    rows, inside = [], False
    for line in _section("How it works").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|"):
            if inside:
                break
            continue
        if cells[0] == "pass":
            inside = True
            continue
        if inside and not set(cells[0]) <= set("-: "):
            name = re.fullmatch(r"`([a-z_]+)`", cells[0])
            stage = re.match(r"`([a-z]+)`", cells[-1])
            assert name and stage, f"a pass table row names a pass and its stage: {line}"
            rows.append((name.group(1), stage.group(1)))
    return rows


def test_the_readme_pass_table_is_the_pipeline():
    assert [name for name, _ in _pass_table()] == list(pipeline.PASS_NAMES)


def test_the_readme_pass_table_gives_each_pass_its_stage():
    assert _pass_table() == [(p.name, p.stage) for p in pipeline.PASSES]


def test_the_readme_shows_the_layers_in_order():
    section = _section("How it works")
    layers = ["frontend", "transform", "codegen", "pipeline"]
    line = next(l for l in section.splitlines() if "< frontend <" in l)
    assert [line.index(f"< {name}") for name in layers] == sorted(
        line.index(f"< {name}") for name in layers)


def test_every_engine_module_says_what_its_output_guarantees():
    import ast

    root = Path(pipeline.__file__).resolve().parent
    silent = []
    for package in ("frontend", "transform", "codegen", "ir"):
        for path in sorted((root / package).glob("*.py")):
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
            if "Output guarantee" not in doc:
                silent.append(f"{package}/{path.name}")
    assert not silent, f"module docstrings without 'Output guarantees': {silent}"


def test_the_readme_lists_every_refusal_the_code_raises():
    """"What is refused, and why" is generated from the raise sites
    (tools/refusals.py): it fails when one is added, changed or removed and
    the README was not regenerated."""
    from tools import refusals

    text = README.read_text(encoding="utf-8")
    assert refusals.START in text and refusals.END in text
    written = refusals.START + text.split(refusals.START, 1)[1].split(refusals.END, 1)[0]
    assert written + refusals.END + "\n" == refusals.section(), "run python -m tools.refusals"


def test_the_refusal_list_reads_every_kind_of_raise_site(tmp_path, monkeypatch):
    """A site whose construct is neither a string, an f-string, a module
    table nor listed in COMPUTED stops the listing instead of going missing."""
    import pytest
    from tools import refusals

    package = tmp_path / "s2sgrad"
    package.mkdir()
    (package / "m.py").write_text(
        "T = {1: 'set display'}\n"
        "def f(self, node, name, kind, message):\n"
        "    raise self.error(f'call to {name!r}', node, 'write it out', stage='normalise')\n"
        "    raise self.error(T[kind], node, stage='normalise')\n")
    monkeypatch.setattr(refusals, "PACKAGE", package)
    assert refusals.refusals() == [
        ("normalise", "call to '…'", "write it out", "m.py"),
        ("normalise", "set display", "", "m.py")]
    (package / "m.py").write_text(
        "def f(self, node, message):\n    raise self.error(message, node, stage='normalise')\n")
    with pytest.raises(ValueError, match="cannot be read"):
        refusals.refusals()
