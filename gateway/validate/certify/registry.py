"""Which check certifies which rule (``certifies``), and which checks hold for declarations read together when they
hold for the group (``GROUPED``: filled by ``gateway.validate.certify`` once every certifier is registered)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from gateway.validate.certify.views import DeclarationColumns

Certifier = Callable[["DeclarationColumns"], bool]
_CERTIFIERS: dict[str, Certifier] = {}
GROUPED: dict[Certifier, bool] = {}       # certifier -> whether it reads the declaration's nature or main month


def certifies(rule_id: str) -> Callable[[Certifier], Certifier]:
    def register(check: Certifier) -> Certifier:
        _CERTIFIERS[rule_id] = check
        return check
    return register
