"""The only structlog configuration. Called by the CLI and by every DoFn's setup().

JSON lines in batch (non-TTY), a readable console on a terminal. A processor drops keys that
could carry personal data, and tracebacks are rendered without local variables.
"""
from __future__ import annotations

import logging
import sys

import structlog
from structlog.tracebacks import ExceptionDictTransformer

DENYLIST = frozenset({"nir", "ntt", "name", "names", "first_name", "last_name", "birth_date",
                      "record", "records", "value", "values", "person", "line_text"})
_configured = False


def quiet_standard_logging() -> None:
    """Third-party libraries log through the standard library; only their errors reach stderr
    (Beam prints import-time warnings about optional cloud clients otherwise)."""
    root = logging.getLogger()
    if not any(getattr(handler, "_drm_gateway", False) for handler in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(logging.ERROR)
        handler._drm_gateway = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    # Beam logs a failed bundle with its traceback (and locals of our frames may hold records): the
    # driver reports the failure itself, in one line, so Beam's own records are not shown.
    logging.getLogger("apache_beam").setLevel(logging.CRITICAL)


def _drop_personal_data(_logger, _method, event_dict):
    for key in DENYLIST.intersection(event_dict):
        event_dict[key] = "[removed]"
    return event_dict


class _StderrLogger:
    """Writes to whatever ``sys.stderr`` is at call time (test runners and workers swap it)."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


def configure(*, json: bool | None = None, level: int = logging.INFO, force: bool = False) -> None:
    """Configure structlog once per process (workers are other processes: call from setup())."""
    global _configured
    if _configured and not force:
        return
    if json is None:
        json = not sys.stderr.isatty()
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_personal_data,
    ]
    if json:
        renderer = [structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False)),
                    structlog.processors.JSONRenderer()]
    else:
        renderer = [structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)]
    structlog.configure(
        processors=shared + renderer,
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=lambda *args: _StderrLogger(),
        cache_logger_on_first_use=False,
    )
    quiet_standard_logging()
    _configured = True
