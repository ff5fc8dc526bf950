"""Small file helpers shared by the driver, the history and the reports: atomic JSON and text writes."""
from __future__ import annotations

import json
import os
from pathlib import Path


def write_text(path: Path, text: str) -> None:
    write_chunks(path, (text,))


def write_chunks(path: Path, chunks, end: str = "") -> None:
    """Write text produced piece by piece (a streamed template or JSON encoder), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", encoding="utf-8") as fh:
        for chunk in chunks:
            fh.write(chunk)
        fh.write(end)
    os.replace(temporary, path)


def write_json(path: Path, data) -> None:
    """``data`` as indented JSON, encoded piece by piece (metrics of many declarants are not one big string)."""
    write_chunks(path, json.JSONEncoder(indent=2, sort_keys=True, ensure_ascii=False).iterencode(data), "\n")
