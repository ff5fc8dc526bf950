"""The default catalogue: each module registers its rules on DEFAULT_RULES when imported."""
from gateway.validate.rules import files, formats, structure, syntax  # noqa: F401
