"""The default catalogue: each module registers its rules on DEFAULT_RULES when imported."""
from gateway.validate.rules import (amounts, files, formats, header, history, identity, records,  # noqa: F401
                                    floating, regularisations, sequences, structure, syntax)


def default_registry():
    """The default catalogue (every rule module above registered on ``DEFAULT_RULES``)."""
    from gateway.validate.registry import DEFAULT_RULES
    return DEFAULT_RULES
