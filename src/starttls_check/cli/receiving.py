"""`--receive` on the command line: the certificate to show (generated, or the operator's
own), then the listener; where it listens goes to stderr, the report to stdout."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UsageError

if TYPE_CHECKING:
    from ..model.sending import ReceiveReport

DEFAULT_HOSTNAME = "starttls-check.localdomain"


def run_receive(options: Mapping[str, Any]) -> ReceiveReport:
    from ..model.sending import CertificateKind
    from ..run.sending import ReceiveSettings, receive_clients

    address, port = options["receive"]
    hostname = options["hostname"] or DEFAULT_HOSTNAME
    if (options["cert"] is None) != (options["key"] is None):
        raise UsageError("--cert and --key go together")
    if options["cert"] is not None:
        kind = CertificateKind.PROVIDED
        try:
            chain, key = Path(options["cert"]).read_bytes(), Path(options["key"]).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read --cert/--key: {exc.strerror}") from None
        _check_pair(chain, key, options["cert"], options["key"])
        certificates: tuple[tuple[bytes, bytes], ...] = ((chain, key),)
    else:
        kind = CertificateKind(options["certificate"])
        from ..tls.self_signed import receiver_certificates

        certificates = receiver_certificates(kind, hostname)
    settings = ReceiveSettings(
        address=address,
        port=port,
        hostname=hostname,
        certificate=kind,
        certificates=certificates,
        clients=options["clients"],
        deadline=options["receive_timeout"],
        idle=options["timeout"] * 4,
    )
    import ssl

    try:
        report = receive_clients(settings, _announce)
    except ssl.SSLError as exc:
        raise UsageError(f"cannot use --cert/--key: {exc.reason or exc}") from None
    except ValueError as exc:
        raise UsageError(f"cannot use --cert: {exc}") from None
    except OSError as exc:
        raise UsageError(f"cannot listen on {address}:{port}: {exc.strerror or exc}") from None
    if not report.clients:
        _say(f"no client connected to {report.listen} in {settings.deadline:g} s")
    return report


def _check_pair(chain: bytes, key: bytes, cert_path: str, key_path: str) -> None:
    """Say which file is wrong, where OpenSSL would only say `PEM lib`."""
    from ..tls.server_context import PairProblem, pair_problem

    problem = pair_problem(chain, key)
    if problem is PairProblem.NO_CERTIFICATE:
        raise UsageError(f"--cert {cert_path} holds no PEM certificate (is it the key?)")
    if problem is PairProblem.ENCRYPTED_KEY:
        raise UsageError(f"--key {key_path} is encrypted: give it unencrypted (mode 600)")
    if problem is PairProblem.NO_KEY:
        raise UsageError(f"--key {key_path} holds no PEM private key (is it the certificate?)")
    if problem is PairProblem.MISMATCH:
        raise UsageError(f"--key {key_path} is not the key of the first certificate in --cert")


def _announce(address: str, port: int) -> None:
    from ..model.sending import listen_text

    _say(f"receiving on {listen_text(address, port)}")


def _say(line: str) -> None:
    sys.stderr.write(f"starttls-check: {line}\n")
    sys.stderr.flush()
