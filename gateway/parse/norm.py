"""The norm catalogue (schemas/norm/*.json) as objects: rubric ids, datatypes, block tree.

Rubric and block codes the gateway reads are named once in :mod:`gateway.parse.rubrics`;
everything else about the norm is data read from the catalogue.
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources

DSN_VERSIONS = ("P24V01", "P25V01", "P26V01")
PASRAU_CATALOGUE = "PASRAU"


@dataclass(frozen=True, slots=True)
class Datatype:
    id: str
    nature: str
    pattern: re.Pattern[str] | None
    min_length: int | None
    max_length: int | None
    values: frozenset[str] | None

    @property
    def is_amount(self) -> bool:
        """An amount: its format has exactly two decimals (DRM-AMT-006 checks these, not the format rules)."""
        return self.pattern is not None and r"\.[0-9]{2}" in self.pattern.pattern

    def problem(self, value: str) -> str | None:
        """English description of why ``value`` does not fit, without echoing it; None if it fits."""
        if self.min_length is not None and len(value) < self.min_length:
            return f"length {len(value)} below minimum {self.min_length}"
        if self.max_length is not None and len(value) > self.max_length:
            return f"length {len(value)} above maximum {self.max_length}"
        if self.values is not None and value not in self.values:
            return f"code not in the list of {len(self.values)} allowed values"
        if self.pattern is not None and self.pattern.fullmatch(value) is None:
            return f"does not match the format {self.pattern.pattern}"
        return None


@dataclass(frozen=True, slots=True)
class Block:
    id: str
    name: str
    parent: str | None
    min_occurs: int
    max_occurs: int | None
    envelope: bool = False
    order: float = 0.0          # position among its siblings in the message tree


@dataclass(frozen=True, slots=True)
class Rubric:
    id: str
    name: str
    datatype: Datatype

    @property
    def block(self) -> str:
        return self.id[:10]


class NormCatalogue:
    """One norm version: which rubrics exist, their formats, and the block tree."""

    def __init__(self, raw: dict) -> None:
        self.version: str = raw["version"]
        self.family: str = raw["family"]
        datatypes = {key: _datatype(key, spec) for key, spec in raw["datatypes"].items()}
        self.blocks: dict[str, Block] = {
            key: Block(key, spec["name"], spec.get("parent"), spec.get("min") or 0, spec.get("max"),
                       bool(spec.get("envelope")), float(spec.get("order") or 0))
            for key, spec in raw["blocks"].items()
        }
        self.rubrics: dict[str, Rubric] = {
            key: Rubric(key, spec["name"], datatypes[spec["datatype"]]) for key, spec in raw["rubrics"].items()
        }
        self._ancestors: dict[str, tuple[str, ...]] = {key: self._chain(key) for key in self.blocks}
        self.children: dict[str, tuple[Block, ...]] = {}
        for block in self.blocks.values():
            if block.parent is not None:
                self.children[block.parent] = self.children.get(block.parent, ()) + (block,)
        self.descendants: dict[str, frozenset[str]] = {
            key: frozenset(other for other, chain in self._ancestors.items() if key in chain) for key in self.blocks}
        self.natures: dict[str, frozenset[str]] = {
            code: frozenset(spec["blocks"]) for code, spec in raw.get("natures", {}).items()
        }

    def parent_of(self, block_id: str) -> str | None:
        block = self.blocks.get(block_id)
        return block.parent if block else None

    def ancestors(self, block_id: str) -> tuple[str, ...]:
        return self._ancestors.get(block_id, ())

    def _chain(self, block_id: str) -> tuple[str, ...]:
        chain: list[str] = []
        parent = self.parent_of(block_id)
        while parent is not None and parent not in chain:
            chain.append(parent)
            parent = self.parent_of(parent)
        return tuple(chain)


def _datatype(key: str, spec: dict) -> Datatype:
    regex = spec.get("regex")
    values = spec.get("values")
    return Datatype(key, spec.get("nature") or "", re.compile(regex) if regex else None,
                    spec.get("min"), spec.get("max"), frozenset(values) if values else None)


@functools.cache
def catalogue(version: str) -> NormCatalogue:
    """The catalogue of a norm version (``P25V01``…) or of PASRAU; KeyError if unknown."""
    if version not in DSN_VERSIONS and version != PASRAU_CATALOGUE:
        raise KeyError(version)
    text = resources.files("schemas").joinpath("norm", f"{version}.json").read_text(encoding="utf-8")
    return NormCatalogue(json.loads(text))

