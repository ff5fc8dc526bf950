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
import re
from datetime import datetime, timezone
from pathlib import Path

from gateway.errors import ConfigurationError, UnreadableFlowError
from gateway.storage import file_size, is_uri, list_files, modified_time, open_input, remote_filesystem

IGNORED_SUFFIXES = (".tmp", ".part", ".done", ".json", ".md")
InputFile = tuple  # (path: str | bytes, label: str, refused: str)
ARRIVAL_FOLDER = re.compile(r"^(20[0-9]{2})-(0[1-9]|1[0-2])(?:-(0[1-9]|[12][0-9]|3[01]))?$")
GROUP_BYTES = 8 << 20        # small files travel in groups of about this size (one element, one batch check)
GROUP_FILES = 500


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


def _item(path: Path, label: str, refused: str = "") -> InputFile:
    """An input as runs carry it (see the module's text): the name that is not UTF-8 text refused by bytes."""
    text = str(path if refused == Refusal.LINK else path.resolve())
    readable = readable_name(label)
    if readable != label:
        refused = refused or Refusal.NAME.value
    return (text if readable == label else os.fsencode(text), readable, refused)


def _skipped(relative: str) -> bool:
    """Hidden and temporary files, and notes (``.json``, ``.md``), are not flows."""
    return any(part.startswith(".") for part in relative.split("/")) or relative.endswith(IGNORED_SUFFIXES)


def _entry(child: Path, root: Path) -> InputFile | None:
    """A folder's entry as an input, or None (skipped, or a folder)."""
    relative = child.relative_to(root).as_posix()
    if _skipped(relative):
        return None
    if child.is_symlink() and not _inside(child, root):
        return _item(child.absolute(), relative, Refusal.LINK.value)
    return _item(child, relative) if child.is_file() else None


def resolve_inputs(inputs: tuple[str, ...]) -> list[InputFile]:
    """Every input file, sorted by label, listed in one process (a run lists in its pipeline: ``listing``, this
    is the reference it is tested against). Folders are walked recursively; hidden and temporary files, and
    ``.json``/``.md`` files, are skipped. A file named on the command line is read even through a link."""
    found: dict[str | bytes, tuple[str, str]] = {}

    def add(item: InputFile | None) -> None:
        if item is not None:
            found.setdefault(item[0], item[1:])

    for raw in check_roots(inputs):
        if is_uri(raw):
            _add_objects(raw, found)
            continue
        path = Path(raw)
        if path.is_file():
            add(_item(path, path.name))
        else:
            for child in sorted(path.rglob("*")):
                add(_entry(child, path))
    if not found:
        raise no_flow_file(inputs)
    for file, (label, refused) in found.items():
        if not refused and not (isinstance(file, str) and is_uri(file)) and not os.access(file, os.R_OK):
            raise UnreadableFlowError(unreadable(label))
    return sorted(((path, label, refused) for path, (label, refused) in found.items()),
                  key=lambda item: (item[1], os.fsencode(item[0])))


def check_roots(inputs: tuple[str, ...]) -> tuple[str, ...]:
    """The paths given, each a file or a folder (URIs are checked once listed)."""
    for raw in inputs:
        if not is_uri(raw) and not (Path(raw).is_file() or Path(raw).is_dir()):
            raise UnreadableFlowError(f"input not found @ {raw}: expected a file or a folder")
    return inputs


def no_flow_file(inputs: tuple[str, ...]) -> UnreadableFlowError:
    return UnreadableFlowError(f"no flow file @ {', '.join(inputs)}: expected at least one file (hidden and "
                               f"temporary files, and {', '.join(IGNORED_SUFFIXES[2:])} files, are skipped)")


def unreadable(label: str) -> str:
    return f"input unreadable @ {label}: expected read permission"


def _add_objects(uri: str, found: dict) -> None:
    """The objects below a URI (``s3://bucket/flows/``) or the object it names, labelled by their key below it,
    with the same skipped names as a folder's files."""
    prefix = uri.rstrip("/")
    if file_size(prefix) is not None:
        found.setdefault(prefix, (readable_name(prefix.rsplit("/", 1)[-1]), ""))
        return
    for path in list_files(prefix):
        relative = path[len(prefix) + 1:]
        if not _skipped(relative):
            found.setdefault(path, (readable_name(relative), ""))
    if not any(isinstance(key, str) and key.startswith(prefix + "/") for key in found):
        raise UnreadableFlowError(uri_not_found(uri))


def uri_not_found(uri: str) -> str:
    return f"input not found @ {uri}: expected an object or a prefix holding objects"


# --- listing in a pipeline ----------------------------------------------------------------------------------
# A run lists its inputs on the workers: each path given is split into its top-level entries (files listed at
# once, each subfolder a unit of its own), and every subfolder is walked by a worker. A listed file is
# ``(order, item)``: ``order`` (the position of the path given, then the entry's path parts below it) decides
# which label a file reached twice keeps, as ``resolve_inputs`` does.

Listed = tuple            # (order: (index, names below as bytes), item: InputFile)
Unit = tuple              # (index of the path given, the path given, the subfolder or sub-prefix to walk)
# Local paths travel as bytes in both: Beam's coders refuse text holding a name that is not UTF-8.


def expand_root(index: int, raw: str) -> tuple[list[Listed], list[Unit]]:
    """A path given -> the files at its top level, and its subfolders to walk."""
    if is_uri(raw):
        return _expand_prefix(index, raw)
    root = Path(raw)
    if root.is_file():
        return [((index, ()), _item(root, root.name))], []
    files, units = [], []
    for child in sorted(root.iterdir()):
        if child.is_dir() and not child.is_symlink():
            if not child.name.startswith("."):
                units.append((index, os.fsencode(raw), os.fsencode(child)))
            continue
        item = _entry(child, root)
        if item is not None:
            files.append(((index, (os.fsencode(child.name),)), item))
    return files, units


def _expand_prefix(index: int, uri: str) -> tuple[list[Listed], list[Unit]]:
    from pyarrow import fs
    prefix = uri.rstrip("/")
    if file_size(prefix) is not None:
        return [((index, ()), (prefix, readable_name(prefix.rsplit("/", 1)[-1]), ""))], []
    filesystem, where = remote_filesystem(prefix)
    try:
        infos = filesystem.get_file_info(fs.FileSelector(where, recursive=False))
    except FileNotFoundError:
        return [], []
    scheme = prefix.split("://", 1)[0]
    files, units = [], []
    for info in sorted(infos, key=lambda i: i.path):
        name = info.path.rsplit("/", 1)[-1]
        if info.type == fs.FileType.Directory:
            if not name.startswith("."):
                units.append((index, prefix, f"{scheme}://{info.path}"))
        elif info.type == fs.FileType.File and not _skipped(name):
            files.append(((index, (name.encode(),)), (f"{scheme}://{info.path}", readable_name(name), "")))
    return files, units


def walk_unit(unit: Unit) -> list[Listed]:
    """Every file below one subfolder (or sub-prefix) of a path given, labelled from the path given."""
    index, raw, below = unit
    if is_uri(raw):
        prefix = raw.rstrip("/")
        out = []
        for path in list_files(below):
            relative = path[len(prefix) + 1:]
            if not _skipped(relative):
                out.append(((index, tuple(part.encode() for part in relative.split("/"))),
                            (path, readable_name(relative), "")))
        return out
    root = Path(os.fsdecode(raw))
    return [((index, tuple(map(os.fsencode, child.relative_to(root).parts))), item)
            for child in sorted(Path(os.fsdecode(below)).rglob("*")) if (item := _entry(child, root)) is not None]


def inventory_entry(listed: Listed, as_of: str | None, arrival: str, people=None) -> tuple:
    """What the workers find of a listed file: ``(order, item, fingerprint, arrival time, error)``; the error
    (unreadable, no dated folder) stops the run once every file is listed. ``people``: a sketch of NIRs the file's
    are added to (:func:`people_sketch`)."""
    order, item = listed
    path, label, refused = item
    if not refused and not is_uri(path) and not os.access(path, os.R_OK):
        return order, item, None, None, ("unreadable", unreadable(label))
    try:
        moment = arrival_of(path, label, as_of, arrival)
    except ConfigurationError as error:
        return order, item, None, None, ("arrival", str(error))
    return order, item, fingerprint(item, people), moment, None


def settle(entries: list[tuple], inputs: tuple[str, ...]) -> tuple[list[InputFile], list[dict], dict[str, str]]:
    """The workers' entries -> the run's files in label order, their fingerprints and arrival times, as
    ``resolve_inputs``, ``fingerprint`` and ``arrival_of`` give them; the first error in label order stops the
    run (one unreadable file before any date)."""
    kept: dict[str | bytes, tuple] = {}
    for entry in sorted(entries, key=lambda e: e[0]):
        kept.setdefault(entry[1][0], entry)
    for index, raw in enumerate(inputs):
        if is_uri(raw) and not any(entry[0][0] == index for entry in kept.values()):
            raise UnreadableFlowError(uri_not_found(raw))
    if not kept:
        raise no_flow_file(inputs)
    ordered = sorted(kept.values(), key=lambda e: (e[1][1], os.fsencode(e[1][0])))
    for kind, error in (("unreadable", UnreadableFlowError), ("arrival", ConfigurationError)):
        for entry in ordered:
            if entry[4] is not None and entry[4][0] == kind:
                raise error(entry[4][1])
    return ([entry[1] for entry in ordered], [entry[2] for entry in ordered],
            {entry[1][1]: entry[3] for entry in ordered})


def arrival_of(path: str | bytes, label: str, as_of: str | None, arrival: str) -> str:
    """Transaction time of a file: ``as_of`` when given; with arrival ``folder``, the date of the YYYY-MM[-DD]
    folder it sits in (archived flows replayed); else when it arrived (its modification time)."""
    if as_of:
        return as_of
    if arrival == "folder":
        # The folders of the path itself, not of the label: a dated folder given as the input has its date too.
        for part in reversed(Path(os.fsdecode(path)).parts[:-1]):
            match = ARRIVAL_FOLDER.match(part)
            if match:
                return f"{match[1]}-{match[2]}-{match[3] or '01'}T00:00:00Z"
        raise ConfigurationError(f"no dated folder @ {label}: expected, with --arrival folder, every input inside "
                                 "a YYYY-MM or YYYY-MM-DD folder (or use --arrival mtime or --as-of)")
    moment = datetime.fromtimestamp(modified_time(path), tz=timezone.utc)     # a refused link is not followed
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def fingerprint(item: InputFile, people=None) -> dict:
    """What a run records of an input: its label, SHA-256 and size; a refused link's own target, never read.
    ``people``: a sketch (:func:`people_sketch`) the NIRs of the file's individuals are added to as it is read."""
    path, label, refused = item
    if refused == Refusal.LINK:
        return {"file": label, "sha256": hashlib.sha256(os.fsencode(os.readlink(path))).hexdigest(), "bytes": 0}
    return {"file": label, "sha256": file_digest(path, people), "bytes": file_size(path)}


def file_digest(path: str | bytes, people=None, chunk_size: int = 1 << 20) -> str:
    """The file's SHA-256, read by chunks; ``people``: a sketch its NIRs are added to on the way."""
    digest = hashlib.sha256()
    carry = b""
    with open_input(path) as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
            if people is not None:
                carry = _count_people(people, carry + chunk)
    if people is not None and carry:
        _count_people(people, carry + b"\n")
    return digest.hexdigest()


# The people of a run, estimated while the inventory reads every input for its digest: how many person buckets a new
# register starts with (gateway.versioning.sizing.first_buckets). The distinct NIRs of the individuals' lines
# (S21.G00.30.001, wherever a chunk holds one: an estimate, the rules check the NIRs) go into a HyperLogLog sketch
# (Apache DataSketches) per group of files, merged by the driver: ~1.6 % standard error at 2^12 registers, a few kB
# whatever the count. A sketch holds hashes of NIRs, never a NIR, and lives in the run's staging folder only.
PEOPLE_LG_K = 12
_NIR_LINE = re.compile(rb"S21\.G00\.30\.001,'([^'\r\n]+)'")
_CARRY = 4096         # bytes of a chunk's unfinished last line kept for the next chunk (an NIR line is ~30)


def people_sketch():
    """An empty sketch of NIRs (:func:`file_digest` adds to it)."""
    from datasketches import hll_sketch
    return hll_sketch(PEOPLE_LG_K)


def people_estimate(sketches) -> int:
    """The distinct NIRs of the serialised sketches ``sketches`` (``serialize_compact``), merged."""
    from datasketches import hll_sketch, hll_union
    union = hll_union(PEOPLE_LG_K)
    for sketch in sketches:
        union.update(hll_sketch.deserialize(sketch))
    return round(union.get_result().get_estimate())


def _count_people(people, text: bytes) -> bytes:
    """The NIRs of the complete lines of ``text`` added to ``people``; the end of its unfinished last line."""
    cut = text.rfind(b"\n") + 1
    for nir in set(_NIR_LINE.findall(text, 0, cut)):
        people.update(nir.decode("latin-1"))
    return text[cut:][-_CARRY:]


def group_files(paths: list[tuple], sizes: dict) -> list[list[tuple]]:
    """Consecutive input files (in label order) in groups of at most GROUP_BYTES / GROUP_FILES, as a run's workers
    take them (``transforms.pipeline``); a large file alone. ``sizes``: bytes by path, as the inventory found
    them."""
    groups: list[list[tuple]] = []
    size = 0
    for item in paths:
        length = 0 if item[2] else sizes.get(item[0], 0)
        if not groups or size + length > GROUP_BYTES or len(groups[-1]) >= GROUP_FILES:
            groups.append([])
            size = 0
        groups[-1].append(item)
        size += length
    return groups
