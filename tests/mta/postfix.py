"""A private, throw-away Postfix instance on a loopback port, for end-to-end tests.

Everything (config, queue, data, log) lives in one temporary directory, so the system
Postfix is never touched and several instances can run side by side. The master daemon
must run as root: it binds the port and drops privileges to the `postfix` user itself.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

POSTFIX = Path("/usr/sbin/postfix")
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class PostfixInstance:
    port: int
    hostname: str
    log_path: Path


def postfix_available() -> bool:
    return POSTFIX.exists()


def _free_port() -> int:
    # Small race (another process may grab it before master binds), acceptable for tests.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _main_cf(base: Path, hostname: str, chain: Path, key: Path) -> str:
    return f"""\
compatibility_level = 3.6
queue_directory = {base}/queue
data_directory = {base}/data
# Log to a file through postlogd: there is no syslog in containers/CI.
maillog_file = {base}/postfix.log
maillog_file_prefixes = {base}
syslog_name = postfix-test
myhostname = {hostname}
mydomain = postfix.test
myorigin = $myhostname
# Accept mail for nobody: this instance only has to talk SMTP and TLS.
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
# Explicit, so Postfix does not enumerate interfaces to compute it.
mynetworks = 127.0.0.0/8
# No DNS, no system resolver: no reverse lookup of clients, no MX lookups when sending.
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_host_lookup = native
biff = no
smtpd_tls_security_level = may
smtpd_tls_chain_files = {key}, {chain}
smtpd_tls_loglevel = 1
"""


# Standard services, without chroot (a chroot would need copies of /etc files) and
# without postscreen/pickup; smtpd listens only on the loopback port.
_MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
cleanup    unix n - n - 0 cleanup
qmgr       unix n - n 300 1 qmgr
tlsmgr     unix - - n 1000? 1 tlsmgr
rewrite    unix - - n - - trivial-rewrite
bounce     unix - - n - 0 bounce
defer      unix - - n - 0 bounce
trace      unix - - n - 0 bounce
verify     unix - - n - 1 verify
flush      unix n - n 1000? 0 flush
proxymap   unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp       unix - - n - - smtp
relay      unix - - n - - smtp
showq      unix n - n - - showq
error      unix - - n - - error
retry      unix - - n - - error
discard    unix - - n - - discard
local      unix - n n - - local
virtual    unix - n n - - virtual
lmtp       unix - - n - - lmtp
anvil      unix - - n - 1 anvil
scache     unix - - n - 1 scache
postlog    unix-dgram n - n - 1 postlogd
"""


def _read_log(base: Path) -> str:
    parts = []
    for name in ("start.out", "postfix.log"):
        path = base / name
        if path.exists() and path.stat().st_size:
            parts.append(f"--- {name} ---\n{path.read_text(errors='replace')}")
    return "\n".join(parts) or "(no log written)"


def _wait_for_greeting(port: int, master: subprocess.Popen[bytes], base: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    last_error = ""
    while time.monotonic() < deadline:
        if master.poll() is not None:
            raise RuntimeError(f"postfix exited with {master.returncode}\n{_read_log(base)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                greeting = s.recv(512)
                s.sendall(b"QUIT\r\n")
            if greeting.startswith(b"220"):
                return
            last_error = f"unexpected greeting {greeting!r}"
        except OSError as exc:
            last_error = repr(exc)
        time.sleep(0.05)
    raise RuntimeError(
        f"postfix did not greet on 127.0.0.1:{port} within {START_TIMEOUT:.0f}s "
        f"({last_error})\n{_read_log(base)}"
    )


def _live_group_members(pgid: int) -> list[int]:
    # Zombies do not count: they hold no sockets or files, and reaping them is up to init.
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # exited while we were looking
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


def _wait_gone(pgid: int) -> bool:
    deadline = time.monotonic() + STOP_TIMEOUT
    while _live_group_members(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _stop(config_dir: Path, master: subprocess.Popen[bytes], pid_file: Path) -> None:
    # The master daemon calls setsid(), so it and its children form their own process
    # group (id = master pid), separate from the postfix-script shell we started.
    try:
        pgid: int | None = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        pgid = None
    if master.poll() is None:
        # Signals the master (which terminates its children) and waits for it; escalates
        # to SIGKILL of the group itself after 5 s.
        with suppress(subprocess.TimeoutExpired):
            subprocess.run(
                [str(POSTFIX), "-c", str(config_dir), "stop"],
                capture_output=True,
                timeout=STOP_TIMEOUT,
                check=False,
            )
    try:
        master.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        master.kill()
        master.wait()
    # The master does not wait for its children: make sure none still holds the port
    # or files in the directory about to be removed.
    if pgid is not None and not _wait_gone(pgid):
        with suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        _wait_gone(pgid)


@contextmanager
def running_postfix(
    cert_chain_pem: Path,
    key_pem: Path,
    *,
    hostname: str = "mx.postfix.test",
    extra_main_cf: str = "",
) -> Iterator[PostfixInstance]:
    """`extra_main_cf` is appended to main.cf (e.g. a relayhost and smtp_tls_* settings,
    to make the instance a sender)."""
    if os.geteuid() != 0:
        raise RuntimeError("a private Postfix instance must be started as root")
    base = Path(tempfile.mkdtemp(prefix="postfix-test-"))
    # Daemons run as the postfix user and must be able to reach the queue below base.
    base.chmod(0o755)
    config_dir = base / "etc"
    config_dir.mkdir()
    # postfix chdirs here before its check creates the rest; root-owned like /var/spool/postfix.
    (base / "queue").mkdir(mode=0o755)
    port = _free_port()
    (config_dir / "main.cf").write_text(
        _main_cf(base, hostname, cert_chain_pem.resolve(), key_pem.resolve()) + extra_main_cf
    )
    (config_dir / "master.cf").write_text(_MASTER_CF.format(port=port))
    # Postfix waits until a config file is over a second old (in case it is still being
    # edited), polling every 300 ms; backdating the files saves 2 s per start.
    past = time.time() - 60
    for name in ("main.cf", "master.cf"):
        os.utime(config_dir / name, (past, past))
    master: subprocess.Popen[bytes] | None = None
    try:
        # "start-fg" keeps the master in the foreground under a postfix-script shell that is
        # our child: we can see it die during start-up, and nothing is left for init to reap
        # but the master's children. Like "start", it first runs "postfix check", which
        # creates the queue and data directories with the owners Postfix insists on.
        with (base / "start.out").open("wb") as out:
            master = subprocess.Popen(
                [str(POSTFIX), "-c", str(config_dir), "start-fg"],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_for_greeting(port, master, base)
        try:
            yield PostfixInstance(port=port, hostname=hostname, log_path=base / "postfix.log")
        except Exception as exc:
            # The log is deleted on exit; attach it so a failing test shows Postfix's view.
            exc.add_note(_read_log(base))
            raise
    finally:
        if master is not None:
            _stop(config_dir, master, base / "queue" / "pid" / "master.pid")
        shutil.rmtree(base, ignore_errors=True)
