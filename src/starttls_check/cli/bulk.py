"""Bulk runs from the command line: `--input`, `--format jsonl`, `--resume`, `--summary`,
`--summarize`, `--max-rate`, `--progress`, `--dask`.

The checking is run/bulk.py's (or run/dask_run.py's on a cluster); this module opens the
input, skips what a resumed file already holds, and hands each record to the sinks.
"""

from __future__ import annotations

import io
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .errors import NO_TARGETS, UsageError

SUMMARY_FORMATS = ("table", "markdown", "json")

if TYPE_CHECKING:
    from ..dns.targets import Target
    from ..model.bulk import InputProblem
    from ..model.report import DomainReport
    from ..run.bulk import BulkSettings
    from ..run.check import CheckSettings
    from ..run.resume import Resumed
    from .app import Invocation
    from .bulk_sinks import Sinks
    from .progress import Progress


@dataclass(frozen=True, slots=True, kw_only=True)
class BulkRequest:
    """The bulk options as given."""

    input: str | None = None  # a path, or "-" for stdin
    resume: Path | None = None
    summary: bool = False
    summarize: Path | None = None
    progress: bool = False  # --progress: even when stderr is not a terminal
    dask: str | None = None
    max_rate: float | None = None
    max_rate_overall: float | None = None
    window: int | None = None
    dask_chunk: int | None = None


def run_bulk(invocation: Invocation, request: BulkRequest) -> int:
    """Check every target, streaming; return the exit code."""
    from .app import _config, _settings

    if request.summarize is not None:
        if invocation.domains or request.input is not None:
            raise UsageError(
                "--summarize reads a finished file: give no targets or --input with it"
            )
        if stray := _run_options(request, invocation):
            raise UsageError(f"--summarize reads a finished file: it does not take {stray}")
        if invocation.output_format not in SUMMARY_FORMATS:
            raise UsageError("--summarize writes --format table, markdown or json")
        return summarize(request.summarize, invocation.output_format)
    if invocation.demo:
        raise UsageError("--demo checks its own domains; it does not take bulk options")
    config = _config(invocation.config) if invocation.config else None
    # Targets on the command line replace the config's, its input included.
    configured = config.settings.get("input") if config and not invocation.domains else None
    source = request.input if request.input is not None else configured
    targets = tuple(invocation.domains)
    if not targets and source is None:
        targets = tuple(config.domains) if config else ()
    if not targets and source is None:
        raise UsageError(NO_TARGETS)
    if request.summary and invocation.output_format not in ("table", "markdown", "jsonl"):
        raise UsageError(
            "--summary goes with --format table, markdown or jsonl "
            "(for JSON: --summarize FILE --format json)"
        )
    _distinct_files(None if source is None else str(source), request.resume, invocation.outputs)
    if request.resume is not None:
        _resumable(request.resume)
    settings = _settings(invocation, config, targets)
    stream = _open_input(str(source)) if source is not None else None
    try:
        return _run(invocation, request, settings, targets, stream)
    finally:
        if stream is not None and stream is not sys.stdin:
            stream.close()


def _run(
    invocation: Invocation,
    request: BulkRequest,
    settings: CheckSettings,
    targets: tuple[Any, ...],
    stream: IO[str] | None,
) -> int:
    from ..judge.tally import Tally
    from ..run.resume import NotJsonl, Resumed, load_resume
    from .bulk_sinks import Sinks
    from .progress import Progress

    tally = Tally() if request.summary else None
    sinks = Sinks(
        stdout_format=invocation.output_format,
        outputs=invocation.outputs,
        tally=tally,
    )
    try:
        resumed = Resumed()
        if request.resume is not None:
            try:
                resumed = load_resume(request.resume, sinks.seen_before)
            except OSError as exc:
                raise UsageError(f"cannot read {request.resume}: {exc.strerror}") from None
            except NotJsonl as exc:
                raise UsageError(f"--resume: {exc}; give a new file, or one a run wrote") from None
            sinks.add_resume_file(request.resume)
        show = request.progress or sys.stderr.isatty()
        with Progress(enabled=show, total=_total(targets, stream) if show else None) as progress:
            sinks.start(datetime.now(UTC))
            items = _pending(_items(targets, stream), resumed, sinks, progress)
            slow = stream is not None and not _is_file(stream)
            bulk = _bulk_settings(request)
            extra = _check(items, settings, bulk, request, sinks, progress, slow_input=slow)
        sinks.finish(extra=extra, width=_width())
    finally:
        sinks.close()
    return sinks.exit_code()


def _check(
    items: Iterator[Target | InputProblem],
    settings: CheckSettings,
    bulk: BulkSettings,
    request: BulkRequest,
    sinks: Sinks,
    progress: Progress,
    *,
    slow_input: bool = False,
) -> dict[str, int]:
    import asyncio

    from ..tls.trust_store import TrustStoreError

    try:
        if request.dask is not None:
            from ..run.dask_run import DaskUnavailable, run_on_dask

            deliver = _Deliver(sinks, progress)
            try:
                return run_on_dask(
                    request.dask, items, settings, bulk, deliver.report, deliver.problem
                )
            except DaskUnavailable as exc:
                raise UsageError(str(exc)) from None
        source = _threaded(items) if slow_input else items
        return asyncio.run(_in_process(source, settings, bulk, sinks, progress))
    except TrustStoreError as exc:
        raise UsageError(str(exc)) from None


async def _in_process(
    items: Iterator[Target | InputProblem] | AsyncIterator[Target | InputProblem],
    settings: CheckSettings,
    bulk: BulkSettings,
    sinks: Sinks,
    progress: Progress,
) -> dict[str, int]:
    from ..model.bulk import InputProblem
    from ..run.bulk import BulkRun, stream_items
    from ..tls.trust_store import load_trust_store

    store = settings.trust_store or load_trust_store(
        settings.ca_files, use_system=settings.use_system_trust
    )
    run = BulkRun(settings, store, bulk)
    deliver = _Deliver(sinks, progress)
    async for item in stream_items(items, settings, bulk, run=run):
        if isinstance(item, InputProblem):
            deliver.problem(item)
        else:
            deliver.report(item)
    return {"sessions_opened": run.sessions.opened, "sessions_reused": run.sessions.reused}


@dataclass(frozen=True, slots=True)
class _Deliver:
    """One record to the sinks and the progress display."""

    sinks: Sinks
    progress: Progress

    def report(self, report: DomainReport) -> None:
        from ..model.findings import Verdict
        from ..model.serialize import to_jsonable
        from ..render.summary import verdict_sentence

        self.sinks.report(to_jsonable(report), verdict_sentence(report), report)
        self.progress.advance(failed=report.verdict is Verdict.FAIL)

    def problem(self, problem: InputProblem) -> None:
        self.sinks.problem(problem)
        self.progress.advance()


async def _threaded(
    items: Iterator[Target | InputProblem], ahead: int = 256
) -> AsyncIterator[Target | InputProblem]:
    """Lines from a pipe or a terminal, read in a daemon thread: a producer that pauses
    must not stall the sessions in flight (their timeouts would fire when it resumes), and
    a read blocked at Ctrl-C must not keep the process from exiting."""
    import asyncio
    import threading

    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()
    room = threading.Semaphore(ahead)  # read at most `ahead` lines before they are taken
    end = object()

    def post(item: object) -> bool:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: the run is over (Ctrl-C)
            return False
        return True

    def read() -> None:
        try:
            for item in items:
                room.acquire()
                if not post(item):
                    return
        except Exception as exc:  # handed to the loop, which raises it
            post(exc)
        else:
            post(end)

    threading.Thread(target=read, name="starttls-check-input", daemon=True).start()
    while (item := await queue.get()) is not end:
        if isinstance(item, BaseException):
            raise item
        room.release()
        yield item  # type: ignore[misc]


def _is_file(stream: IO[str]) -> bool:
    import os
    import stat

    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError):
        return False


def _bulk_settings(request: BulkRequest) -> BulkSettings:
    from ..run.bulk import BulkSettings

    given: dict[str, Any] = {"max_rate": request.max_rate}
    given["max_rate_overall"] = request.max_rate_overall
    if request.window is not None:
        given["window"] = request.window
    if request.dask_chunk is not None:
        given["chunk"] = request.dask_chunk
    return BulkSettings(**given)


def _items(targets: tuple[Any, ...], stream: IO[str] | None) -> Iterator[Target | InputProblem]:
    from ..dns.targets import Target
    from .bulk_input import read_targets
    from .params import parse_target

    for target in targets:  # command line (Target) or config file (A-label str)
        yield target if isinstance(target, Target) else parse_target(target)
    if stream is not None:
        yield from read_targets(stream)


def _pending(
    items: Iterator[Target | InputProblem], resumed: Resumed, sinks: Sinks, progress: Progress
) -> Iterator[Target | InputProblem]:
    """What the resumed file does not hold yet."""
    from ..model.bulk import InputProblem
    from ..run.bulk import target_key

    for item in items:
        if isinstance(item, InputProblem):
            done = item.line in resumed.input_lines
        else:
            done = target_key(item) in resumed.done
        if done:
            sinks.skipped()
            progress.advance()
            continue
        yield item


def _run_options(request: BulkRequest, invocation: Invocation) -> str | None:
    """The first option given that only a run uses, as the user wrote it."""
    given = {
        "--output": bool(invocation.outputs),
        "--resume": request.resume is not None,
        "--summary": request.summary,
        "--dask": request.dask is not None,
        "--max-rate": request.max_rate is not None,
        "--max-rate-overall": request.max_rate_overall is not None,
        "--window": request.window is not None,
        "--dask-chunk": request.dask_chunk is not None,
        "--progress": request.progress,
        "--demo": invocation.demo,
    }
    return next((flag for flag, present in given.items() if present), None)


def _resumable(path: Path) -> None:
    from ..run.resume import NotJsonl, check_resumable

    try:
        check_resumable(path)
    except NotJsonl as exc:
        raise UsageError(f"--resume: {exc}; give a new file, or one a run wrote") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def _distinct_files(
    source: str | None, resume: Path | None, outputs: tuple[tuple[str, Path], ...]
) -> None:
    """The input, the resumed file and each output are different files: a run that read
    its own output would never end, and two writers of one file interleave their lines."""
    if resume is not None and str(resume) == "-":
        raise UsageError("--resume needs a file: it reads it back, then appends to it")
    named = [(f"--output {fmt}:{path}", path) for fmt, path in outputs]
    if resume is not None:
        named.append((f"--resume {resume}", resume))
    if source is not None and source != "-":
        for label, path in named:
            if _same_file(Path(source), path):
                raise UsageError(f"{label} is the input file: give the results a file of their own")
    for number, (label, path) in enumerate(named):
        for other, other_path in named[number + 1 :]:
            if _same_file(path, other_path):
                raise UsageError(f"{label} and {other} are one file: give each its own")


def _same_file(one: Path, other: Path) -> bool:
    import os

    try:
        return os.path.samefile(one, other)
    except OSError:  # one does not exist yet: compare where they would be
        return one.resolve() == other.resolve()


def _open_input(source: str) -> IO[str]:
    """The input file, or stdin for `-`; an unreadable file is a usage error."""
    if source == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", errors="replace")
    try:
        return open(source, encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise UsageError(f"cannot read input file {source}: {exc.strerror}") from None


def _total(targets: tuple[Any, ...], stream: IO[str] | None) -> int | None:
    """The number of targets, if the input can be counted without consuming it."""
    if stream is None:
        return len(targets)
    name = getattr(stream, "name", None)
    if not isinstance(name, str) or not Path(name).is_file():
        return None
    from .bulk_input import count_targets

    with open(name, encoding="utf-8-sig", errors="replace") as again:
        return len(targets) + count_targets(again)


def _width() -> int:
    from .app import _output_width

    return _output_width()


def summarize(path: Path, output_format: str) -> int:
    """`--summarize results.jsonl`: the aggregate of a finished (or partial) file."""
    from ..judge.tally import Tally
    from ..render.aggregate import render_aggregate
    from ..run.resume import MAX_RECORD, is_run_record, opens_a_run, parse_record

    tally = Tally()
    try:
        with path.open("rb") as stream:
            first = True
            while raw := stream.readline(MAX_RECORD):
                doc = parse_record(raw)
                if first and not opens_a_run(raw, doc):
                    raise UsageError(
                        f"{path} is not a starttls-check JSON Lines file "
                        "(write one with --format jsonl, --output jsonl:FILE or --resume)"
                    )
                if first and not is_run_record(doc):
                    break  # the run record a kill cut short: nothing to summarize yet
                first = False
                if doc is not None and "record" not in doc and "verdict" in doc:
                    tally.add(doc)
            if first:
                raise UsageError(f"{path} holds no complete run to summarize")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    sys.stdout.write(render_aggregate(tally.as_json(), output_format, width=_width()))
    return 0
