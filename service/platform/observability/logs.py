"""JSON logs, one object per line, with the request id of the request being served.

What may be logged: route templates, statuses, durations, ids. What may not: bodies, query
strings (they hold where a person stands), phone numbers, names, notes, tokens.

Tracebacks are written by ``format_exception``: a database error's text is replaced by its
class, SQLSTATE and the names of the table, column and constraint involved. Its message,
DETAIL ("Failing row contains (...)", "Key (...)=(...)"), CONTEXT and the statement's
parameters (SQLAlchemy's "[parameters: ...]") may quote the values of a row: handoff
ciphertexts, an H3 cell, a subject.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import traceback
from datetime import UTC, datetime

import orjson

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"
# Primary messages of these SQLSTATE classes quote input values ("invalid input syntax for
# type uuid: \"...\""); the others name objects only, and are kept.
_VALUE_QUOTING_CLASSES = ("22",)


def describe_exception(error: BaseException) -> str:
    """``str(error)``, except for database errors (psycopg's, and SQLAlchemy's that wrap a
    statement), whose text may carry values: those are described by their class, SQLSTATE,
    primary message (unless it may quote a value) and the names of the objects involved."""
    import psycopg
    from sqlalchemy.exc import StatementError

    original = error.orig if isinstance(error, StatementError) else error
    if isinstance(original, psycopg.Error):
        diag = original.diag
        parts = []
        if original.sqlstate:
            parts.append(f"SQLSTATE {original.sqlstate}")
            if not original.sqlstate.startswith(_VALUE_QUOTING_CLASSES) and diag.message_primary:
                parts.append(diag.message_primary)
        elif isinstance(original, (psycopg.OperationalError, psycopg.InterfaceError)):
            parts.append(str(original).strip())  # raised by the client: connection failures, no row values
        for name in ("schema_name", "table_name", "column_name", "constraint_name", "datatype_name"):
            value = getattr(diag, name, None)
            if value:
                parts.append(f"{name.removesuffix('_name')} {value}")
        parts.append("details and parameters withheld")
        prefix = f"({type(original).__module__}.{type(original).__qualname__}) " if original is not error else ""
        return prefix + "; ".join(parts)
    if isinstance(error, StatementError):  # a value could not be sent: its text may quote it
        return f"({type(original).__qualname__}) statement not sent; details and parameters withheld"
    from pydantic import ValidationError

    if isinstance(error, ValidationError):  # its text quotes each input value
        return (
            f"{error.error_count()} validation errors: "
            + "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['type']}" for e in error.errors())
            + "; input withheld"
        )
    try:
        return str(error)
    except Exception:  # noqa: BLE001 - a broken __str__ must not lose the log line
        return "<exception str() failed>"


def format_exception(exc_info) -> str:
    """A traceback as Python prints it (chained causes and contexts included), with each
    exception's text from ``describe_exception``; no exception notes."""
    _, error, tb = exc_info
    if error is None:
        return ""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current, link = error, ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            current = None
    parts = []
    for exception, link in reversed(chain):  # oldest first, as Python prints them
        frames = tb if exception is error else exception.__traceback__
        if frames is not None:
            parts.append("Traceback (most recent call last):\n" + "".join(traceback.format_tb(frames)))
        name = type(exception).__qualname__
        module = type(exception).__module__
        qualified = name if module in ("builtins", "__main__") else f"{module}.{name}"
        parts.append(f"{qualified}: {describe_exception(exception)}\n")
        if isinstance(exception, BaseExceptionGroup):
            for number, inner in enumerate(exception.exceptions, 1):
                nested = format_exception((type(inner), inner, inner.__traceback__))
                parts.append(f"  +-- {number} --\n" + "".join(f"  | {line}\n" for line in nested.splitlines()))
        parts.append(link)  # how it led to the next one ("" after the last)
    return "".join(parts).rstrip("\n")


class SafeFormatter(logging.Formatter):
    """A logging.Formatter whose tracebacks come from ``format_exception``."""

    def formatException(self, ei) -> str:
        return format_exception(ei)

    def format(self, record: logging.LogRecord) -> str:
        record.exc_text = None  # never reuse a traceback another formatter wrote in full
        return super().format(record)


class JsonFormatter(SafeFormatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key in ("route", "method", "status", "duration_ms", "handoff_id", "event"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's own loggers go through ours; its access log is off (ours has no query strings).
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
