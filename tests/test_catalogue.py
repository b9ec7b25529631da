"""The finding catalogue's data files: one entry per code, every field, no orphans."""

from __future__ import annotations

import re
import shutil
import tomllib
from collections.abc import Iterable
from pathlib import Path

import pytest

import starttls_check
from starttls_check.model import catalogue
from starttls_check.model.catalogue import AREAS, CatalogueError, load
from starttls_check.model.session import CertProblem

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


@pytest.mark.parametrize("area", AREAS)
def test_each_table_read_alone_is_what_the_whole_file_says(area: str) -> None:
    """Codes are parsed one table at a time: cutting a file at its headers must lose or add
    nothing the file as a whole says."""
    whole = load(area, tomllib.loads((TEXTS / f"{area}.toml").read_text(encoding="utf-8")))
    assert [c for c in catalogue.codes() if c in whole] == list(whole)
    assert {code: catalogue.entry(code) for code in whole} == whole


def test_a_table_whose_header_the_cutting_misses_is_refused() -> None:
    text = (TEXTS / "dns.toml").read_text(encoding="utf-8")
    start = text.index('["mx.cname"]')
    table = text[start : text.index('\n["', start) + 1]
    assert catalogue.parse_table("dns", "mx.cname", table).code == "mx.cname"
    hidden = table + table.replace('["mx.cname"]', "[mx.hidden]")  # not cut there
    with pytest.raises(CatalogueError, match="holds tables"):
        catalogue.parse_table("dns", "mx.cname", hidden)
    cut_in_a_string = table[: table.index("'''") + 4]  # inside a multi-line string
    with pytest.raises(CatalogueError, match=r"dns\.toml \[mx\.cname\]"):
        catalogue.parse_table("dns", "mx.cname", cut_in_a_string)


def unmatched(known: Iterable[str]) -> tuple[set[str], set[str]]:
    """(codes the package's source uses without an entry, entries no source uses)."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py"))
    used = set(_CODE.findall(source))
    if _BUILT.search(source):
        used |= {f"cert.{p.value}" for p in CertProblem if p is not CertProblem.NO_CERTIFICATE}
    return used - set(known), set(known) - used


def test_no_code_in_the_source_lacks_an_entry_and_no_entry_is_an_orphan() -> None:
    without_texts, orphans = unmatched(catalogue.codes())
    assert without_texts == set()  # a finding without texts
    assert orphans == set()  # texts no finding uses


def codes_in(texts: Path) -> list[str]:
    """Every code in a directory of data files, read as the catalogue reads its own."""
    tables = {a: tomllib.loads((texts / f"{a}.toml").read_text(encoding="utf-8")) for a in AREAS}
    return [code for area in AREAS for code in load(area, tables[area])]


def test_a_code_cut_from_its_file_or_an_unused_entry_is_caught(tmp_path: Path) -> None:
    """The test above fails when an entry goes missing or a stray one is added: shown on a
    copy of the data files, edited as text."""
    for path in TEXTS.glob("*.toml"):
        shutil.copy(path, tmp_path)
    assert unmatched(codes_in(tmp_path)) == (set(), set())
    dns = tmp_path / "dns.toml"
    text = dns.read_text(encoding="utf-8")
    start = text.index('["mx.cname"]')
    end = text.index('\n["', start) + 1
    dns.write_text(text[:start] + text[end:], encoding="utf-8")
    assert unmatched(codes_in(tmp_path)) == ({"mx.cname"}, set())
    stray = text[start:end].replace('["mx.cname"]', '["mx.unused"]')
    dns.write_text(text + "\n" + stray, encoding="utf-8")
    assert unmatched(codes_in(tmp_path)) == (set(), {"mx.unused"})


def test_a_code_twice_in_one_file_is_refused() -> None:
    text = (TEXTS / "dns.toml").read_text(encoding="utf-8")
    start = text.index('["mx.cname"]')
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(text + "\n" + text[start : text.index('\n["', start)])


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
