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

from ..model.sending import PostfixSettings

MAX_FILE = 1 << 20  # bytes of main.cf read
POSTCONF_TIMEOUT = 10.0
MAX_VALUE = 1 << 16  # characters of one expanded value

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
    "smtpd_tls_protocols": ">=TLSv1",
    "smtpd_tls_mandatory_protocols": ">=TLSv1",
    "smtpd_tls_ciphers": "medium",
    "smtpd_tls_mandatory_ciphers": "medium",
    "smtpd_tls_loglevel": "0",
    "smtpd_tls_received_header": "no",
}
_REFERENCE = re.compile(r"\$(?:\{(\w+)\}|\((\w+)\)|(\w+))")


def postconf_path() -> Path | None:
    """`postconf`, from the PATH or where Debian puts it."""
    found = shutil.which("postconf") or shutil.which("postconf", path="/usr/sbin:/usr/bin")
    return Path(found) if found else None


def read_settings(path: Path, postconf: Path | None = None) -> PostfixSettings:
    """The settings for a config directory, its main.cf, or a saved `postconf -n`."""
    directory = path if path.is_dir() else (path.parent if path.name == "main.cf" else None)
    postconf = postconf or postconf_path()
    if directory is not None and postconf is not None:
        values = _run_postconf(postconf, directory)
        if values is not None:
            return _settings("postconf", directory, values)
    file = directory / "main.cf" if directory is not None else path
    try:
        with file.open("rb") as handle:
            text = handle.read(MAX_FILE).decode("utf-8", "replace")
    except OSError as exc:
        raise FileNotFoundError(f"{file}: {exc.strerror or exc}") from None
    return _settings("file", file, expand({**DEFAULTS, **parse_main_cf(text)}))


def _run_postconf(postconf: Path, directory: Path) -> dict[str, str] | None:
    """`postconf -x`'s answer for the judged names; None if it fails (then the file is
    read instead)."""
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
        return None
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
        name = key.strip() if sep and re.fullmatch(r"\w+", key.strip()) else None
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
