"""Resource nature of a record: SALARY for DSN; for PASRAU, from the declared income class.

The PASRAU income-class nomenclature (CLREV, published by net-entreprises) is not in the public
material we have (FORMAT.md §8): the mapping is configuration, in
``schemas/norm/pasrau_income_classes.json``; codes not listed map to OTHER_INCOME.
"""
from __future__ import annotations

import functools
import json
from importlib import resources

from gateway.records import Flow, ResourceNature


@functools.cache
def income_classes() -> dict[str, ResourceNature]:
    text = resources.files("schemas").joinpath("norm", "pasrau_income_classes.json").read_text(encoding="utf-8")
    return {code: ResourceNature(spec["nature"]) for code, spec in json.loads(text)["classes"].items()}


def nature_of(flow: Flow, income_class: str | None) -> ResourceNature:
    if flow is Flow.DSN:
        return ResourceNature.SALARY
    return income_classes().get(income_class or "", ResourceNature.OTHER_INCOME)
