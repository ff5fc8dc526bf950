"""The input files of a run: what the paths given name, how each is labelled, and which are refused unread.

An input is a plain tuple ``(path, label, refused)`` (it crosses Beam's coders as is):
- ``path``: the absolute path, as text; as bytes when the name is not UTF-8 text (Beam's coders and every
  output need text, ``open`` takes bytes);
- ``label``: the name lineage and reports use (the path relative to the folder given, or the file name),
  always text: bytes that are not UTF-8 are shown as ``\\xe9``;
- ``refused``: why the file is not read, or ``""``: ``NAME`` (its name is not UTF-8 text: DRM-FIL-005),
  ``LINK`` (a symbolic link inside a folder given that leads out of it: DRM-FIL-006). A refused file is
  quarantined whole with its rule and the run goes on.
"""
from __future__ import annotations

import enum
import hashlib
import os
from pathlib import Path

from gateway.errors import UnreadableFlowError
from gateway.storage import file_size, is_uri, list_files, open_input

IGNORED_SUFFIXES = (".tmp", ".part", ".done", ".json", ".md")
InputFile = tuple  # (path: str | bytes, label: str, refused: str)


class Refusal(str, enum.Enum):
    NAME = "NAME"        # the file name is not UTF-8 text
    LINK = "LINK"        # a symbolic link that leads out of the folder it was found in


def readable_name(name: str) -> str:
    """A file name as text that any output can hold: bytes that are not UTF-8 shown as ``\\xe9``."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "backslashreplace")


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def resolve_inputs(inputs: tuple[str, ...]) -> list[InputFile]:
    """Every input file, sorted by label. Folders are walked recursively; hidden and temporary files, and
    ``.json``/``.md`` files, are skipped. A file named on the command line is read even through a link."""
    found: dict[str | bytes, tuple[str, str]] = {}

    def add(path: Path, label: str, refused: str = "") -> None:
        text = str(path if refused == Refusal.LINK else path.resolve())
        readable = readable_name(label)
        if readable != label:
            refused = refused or Refusal.NAME.value
        found.setdefault(text if readable == label else os.fsencode(text), (readable, refused))

    for raw in inputs:
        if is_uri(raw):
            _add_objects(raw, found)
            continue
        path = Path(raw)
        if path.is_file():
            add(path, path.name)
        elif path.is_dir():
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(path)
                if any(part.startswith(".") for part in relative.parts) or child.name.endswith(IGNORED_SUFFIXES):
                    continue
                if child.is_symlink() and not _inside(child, path):
                    add(child.absolute(), relative.as_posix(), Refusal.LINK.value)
                elif child.is_file():
                    add(child, relative.as_posix())
        else:
            raise UnreadableFlowError(f"input not found @ {raw}: expected a file or a folder")
    if not found:
        raise UnreadableFlowError(f"no flow file @ {', '.join(inputs)}: expected at least one file (hidden and "
                                  f"temporary files, and {', '.join(IGNORED_SUFFIXES[2:])} files, are skipped)")
    for file, (label, refused) in found.items():
        if not refused and not (isinstance(file, str) and is_uri(file)) and not os.access(file, os.R_OK):
            raise UnreadableFlowError(f"input unreadable @ {label}: expected read permission")
    return sorted(((path, label, refused) for path, (label, refused) in found.items()),
                  key=lambda item: (item[1], os.fsencode(item[0])))


def _add_objects(uri: str, found: dict) -> None:
    """The objects below a URI (``s3://bucket/flows/``) or the object it names, labelled by their key below it,
    with the same skipped names as a folder's files."""
    prefix = uri.rstrip("/")
    if file_size(prefix) is not None:
        found.setdefault(prefix, (readable_name(prefix.rsplit("/", 1)[-1]), ""))
        return
    for path in list_files(prefix):
        relative = path[len(prefix) + 1:]
        if any(part.startswith(".") for part in relative.split("/")) or relative.endswith(IGNORED_SUFFIXES):
            continue
        found.setdefault(path, (readable_name(relative), ""))
    if not any(isinstance(key, str) and key.startswith(prefix + "/") for key in found):
        raise UnreadableFlowError(f"input not found @ {uri}: expected an object or a prefix holding objects")


def fingerprint(item: InputFile) -> dict:
    """What a run records of an input: its label, SHA-256 and size; a refused link's own target, never read."""
    path, label, refused = item
    if refused == Refusal.LINK:
        return {"file": label, "sha256": hashlib.sha256(os.fsencode(os.readlink(path))).hexdigest(), "bytes": 0}
    return {"file": label, "sha256": file_digest(path), "bytes": file_size(path)}


def file_digest(path: str | bytes) -> str:
    digest = hashlib.sha256()
    with open_input(path) as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
