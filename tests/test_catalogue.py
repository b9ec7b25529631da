"""The finding catalogue's data files: one entry per code, every field, no orphans."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

import starttls_check
from starttls_check.model import catalogue
from starttls_check.model.catalogue import AREAS, CatalogueError, load

PACKAGE = Path(starttls_check.__file__).parent
TEXTS = PACKAGE / "model" / "texts"
_CODE = re.compile(r'"((?:' + "|".join(p for ps in AREAS.values() for p in ps) + r')\.[a-z0-9-]+)"')
# Codes the source builds from a value rather than writing out: `f"cert.{problem.value}"`.
_BUILT = re.compile(r'f"cert\.\{problem\.value\}"')


def test_every_area_has_its_file_and_nothing_else_is_there() -> None:
    assert sorted(p.stem for p in TEXTS.glob("*.toml")) == sorted(AREAS)


def test_every_entry_loads_with_every_field() -> None:
    entries = catalogue.entries()
    assert len(entries) == len(catalogue.codes()) > 100
    for code, entry in entries.items():
        assert entry.rule.hint.strip(), code
        assert "\n" not in entry.rule.hint, code
        assert all(getattr(entry.explanation, f).strip() for f in ("what", "why", "fix", "verify"))


def test_no_code_in_the_source_lacks_an_entry_and_no_entry_is_an_orphan() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py"))
    used = set(_CODE.findall(source))
    from starttls_check.model.session import CertProblem

    if _BUILT.search(source):
        used |= {f"cert.{p.value}" for p in CertProblem if p is not CertProblem.NO_CERTIFICATE}
    assert used - set(catalogue.codes()) == set()  # a finding without texts
    assert set(catalogue.codes()) - used == set()  # texts no finding uses


def test_a_missing_field_or_a_code_in_the_wrong_file_is_refused() -> None:
    tables = tomllib.loads((TEXTS / "cert.toml").read_text(encoding="utf-8"))
    assert "cert.expired" in load("cert", tables)
    broken = {code: dict(table) for code, table in tables.items()}
    del broken["cert.expired"]["why"]
    with pytest.raises(CatalogueError, match=r"cert\.expired.*needs exactly"):
        load("cert", broken)
    with pytest.raises(CatalogueError, match="belongs to another area"):
        load("tls", tables)  # would put the cert codes in two files
    with pytest.raises(CatalogueError, match="unknown severity"):
        load("cert", {"cert.expired": {**tables["cert.expired"], "severity": "fatal"}})


def test_an_unknown_code_is_not_known() -> None:
    assert catalogue.is_known("cert.expired")
    assert not catalogue.is_known("cert.expird")
    assert not catalogue.is_known("nonsense")
