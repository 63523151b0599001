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
