"""``s2sgrad cache info`` and ``s2sgrad cache clear`` (SPEC section 5)."""

import os
import subprocess
import sys
from pathlib import Path

import s2sgrad as sg
from s2sgrad.cli import main
from s2sgrad.codegen import disk

PACKAGE_PARENT = Path(sg.__file__).resolve().parent.parent


def test_info_shows_directory_entries_size_and_limit(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("S2SGRAD_CACHE", raising=False)  # (partial runs set it to 0)
    monkeypatch.setenv("S2SGRAD_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("S2SGRAD_CACHE_MAX_MB", "2")
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert f"directory: {tmp_path / 'c'}" in out and "entries:   0" in out
    assert "limit:     2.0 MB" in out and "disk cache: on" in out
    disk.store(("k",), {"source": "s" * 4000})
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert "entries:   1" in out and "size:      4.2 kB" in out


def test_clear_removes_the_entries_only(tmp_path, monkeypatch, capsys):
    where = tmp_path / "c"
    monkeypatch.delenv("S2SGRAD_CACHE", raising=False)
    monkeypatch.setenv("S2SGRAD_CACHE_DIR", str(where))
    disk.store(("one",), {"source": "a"})
    disk.store(("two",), {"source": "b"})
    (where / "mine.txt").write_text("keep")
    assert main(["cache", "clear"]) == 0
    assert capsys.readouterr().out == f"removed 2 entries from {where}\n"
    assert [p.name for p in where.iterdir()] == ["mine.txt"]
    assert main(["cache", "clear"]) == 0
    assert capsys.readouterr().out.startswith("removed 0 entries")


def test_info_says_when_the_cache_is_off(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("S2SGRAD_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("S2SGRAD_CACHE", "0")
    assert main(["cache", "info"]) == 0
    assert "disk cache: off (S2SGRAD_CACHE=0)" in capsys.readouterr().out


def test_a_bad_action_is_one_usage_error(capsys):
    assert main(["cache", "empty"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'empty'" in err and "Traceback" not in err


def test_the_entry_point_runs_cache_info(tmp_path):
    env = dict(os.environ, S2SGRAD_CACHE_DIR=str(tmp_path), PYTHONPATH=str(PACKAGE_PARENT))
    proc = subprocess.run([sys.executable, "-m", "s2sgrad", "cache", "info"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and f"directory: {tmp_path}" in proc.stdout
    assert proc.stderr == ""
