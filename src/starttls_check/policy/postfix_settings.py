"""Postfix's TLS settings as Postfix itself sees them.

With a configuration directory (or its main.cf) and `postconf` installed, `postconf -c DIR
-x NAME...` answers: it knows every default and expands `$name` references exactly as the
daemons do. Without `postconf`, or for saved `postconf -n` output, the file is parsed here
(main.cf syntax: `name = value`, continuation lines start with white space, `#` comments)
and the Postfix 3.7 defaults fill in what it does not set.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from ..model.sending import PostfixSettings, SettingsError

MAX_FILE = 1 << 20  # bytes of main.cf read
POSTCONF_TIMEOUT = 10.0
MAX_VALUE = 1 << 16  # characters of one expanded value
MAX_ERROR = 512  # bytes of postconf's error output quoted

# The settings judged, with Postfix 3.7's defaults (`postconf -d`).
DEFAULTS: Mapping[str, str] = {
    "smtp_tls_security_level": "",
    "smtp_use_tls": "no",
    "smtp_enforce_tls": "no",
    "smtp_tls_CAfile": "",
    "smtp_tls_CApath": "",
    "tls_append_default_CA": "no",
    "smtp_dns_support_level": "",
    "smtp_tls_loglevel": "0",
    "smtp_tls_protocols": ">=TLSv1",
    "smtp_tls_mandatory_protocols": ">=TLSv1",
    "smtp_tls_ciphers": "medium",
    "smtp_tls_mandatory_ciphers": "medium",
    "smtp_tls_policy_maps": "",
    "smtpd_tls_security_level": "",
    "smtpd_use_tls": "no",
    "smtpd_enforce_tls": "no",
    "smtpd_tls_chain_files": "",
    "smtpd_tls_cert_file": "",
    "smtpd_tls_key_file": "$smtpd_tls_cert_file",
    "smtpd_tls_eccert_file": "",
    "smtpd_tls_eckey_file": "$smtpd_tls_eccert_file",
    "smtpd_tls_dcert_file": "",
    "smtpd_tls_dkey_file": "$smtpd_tls_dcert_file",
    "smtpd_tls_protocols": ">=TLSv1",
    "smtpd_tls_mandatory_protocols": ">=TLSv1",
    "smtpd_tls_ciphers": "medium",
    "smtpd_tls_mandatory_ciphers": "medium",
    "smtpd_tls_loglevel": "0",
    "smtpd_tls_received_header": "no",
}
BINARY = "a binary file"
_NAME = re.compile(r"\w+", re.ASCII)  # parameter names are ASCII (postconf(5))
_REFERENCE = re.compile(r"\$(?:\{(\w+)\}|\((\w+)\)|(\w+))")


def postconf_path() -> Path | None:
    """`postconf`, from the PATH or where Debian puts it."""
    found = shutil.which("postconf") or shutil.which("postconf", path="/usr/sbin:/usr/bin")
    return Path(found) if found else None


def read_settings(path: Path, postconf: Path | None = None) -> PostfixSettings:
    """The settings for a config directory, its main.cf, or a saved `postconf -n`;
    `SettingsError` when the file holds none, or `postconf` refuses the configuration."""
    directory = path if path.is_dir() else (path.parent if path.name == "main.cf" else None)
    postconf = postconf or postconf_path()
    refused: str | None = None
    if directory is not None and postconf is not None:
        values = _run_postconf(postconf, directory)
        if isinstance(values, dict) and _read_file(directory / "main.cf") != BINARY:
            return _settings("postconf", directory, values)
        refused = values if isinstance(values, str) else None
    file = directory / "main.cf" if directory is not None else path
    found = _read_file(file)
    # postconf reads main.cf as the daemons do: what it refuses, Postfix refuses too.
    failed = f"postconf -c {directory} failed: {refused}" if refused else ""
    if isinstance(found, str):
        raise SettingsError(
            f"no Postfix settings found in {file} ({found}){failed and '; '}{failed}"
        )
    if failed:
        raise SettingsError(f"{file}: {failed}")
    return _settings("file", file, expand({**DEFAULTS, **found}))


def _read_file(file: Path) -> dict[str, str] | str:
    """The file's settings, or why it has none."""
    try:
        with file.open("rb") as handle:
            data = handle.read(MAX_FILE)
    except OSError as exc:
        raise FileNotFoundError(f"{file}: {exc.strerror or exc}") from None
    # A NUL never occurs in main.cf or `postconf -n` output: such a file is binary, and
    # judging Postfix's defaults in its place would pass a verdict on nothing.
    if b"\0" in data:
        return BINARY
    return parse_main_cf(data.decode("utf-8", "replace")) or "no `name = value` line"


def _run_postconf(postconf: Path, directory: Path) -> dict[str, str] | str | None:
    """`postconf -x`'s answer for the judged names; its first error line if it refused the
    configuration; None if it could not run (then the file is read instead)."""
    try:
        done = subprocess.run(  # noqa: S603 - a fixed program and our own arguments
            [str(postconf), "-c", str(directory), "-x", *DEFAULTS],
            capture_output=True,
            timeout=POSTCONF_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        lines = done.stderr[:MAX_ERROR].decode("utf-8", "replace").strip().splitlines()
        return lines[0] if lines else f"exit status {done.returncode}"
    values = parse_main_cf(done.stdout[:MAX_FILE].decode("utf-8", "replace"))
    return {name: values.get(name, default) for name, default in DEFAULTS.items()}


def parse_main_cf(text: str) -> dict[str, str]:
    """`name = value` lines; a line starting with white space continues the previous one;
    comments and blank lines are skipped; a later value wins (as in Postfix)."""
    values: dict[str, str] = {}
    name: str | None = None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace():
            if name is not None:
                values[name] = f"{values[name]} {line.strip()}".strip()
            continue
        key, sep, value = line.partition("=")
        name = key.strip() if sep and _NAME.fullmatch(key.strip()) else None
        if name is not None:
            values[name] = value.strip()
    return values


def expand(values: Mapping[str, str], depth: int = 10) -> dict[str, str]:
    """`$name`, `${name}` and `$(name)` replaced by their values, at most `depth` levels
    deep; an unknown name, or one that refers back to itself, expands to nothing (as in
    Postfix), and no value grows past `MAX_VALUE`."""

    def value_of(name: str, seen: frozenset[str]) -> str:
        if name in seen or len(seen) > depth or name not in values:
            return ""
        inner = seen | {name}
        text = _REFERENCE.sub(
            lambda m: value_of(next(g for g in m.groups() if g), inner), values[name]
        )
        return text[:MAX_VALUE]

    return {name: value_of(name, frozenset()) for name in values}


def _settings(source: str, path: Path, values: Mapping[str, str]) -> PostfixSettings:
    return PostfixSettings(
        source=source,
        path=str(path),
        values=tuple((name, values.get(name, DEFAULTS[name])) for name in DEFAULTS),
        files=(),
    )
