"""Command-line pipeline options -> a frozen Settings, once. Domain code never reads options or env."""
from __future__ import annotations

from dataclasses import dataclass, field

from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

EMBEDDED_RUNNER = "FnApiRunner"    # Beam's in-process runner: no Prism download (ENGINEERING.md)


@dataclass(frozen=True)
class Settings:
    inputs: tuple[str, ...]
    out: str
    pseudonym_key: bytes = field(repr=False)
    beam_args: tuple[str, ...] = ()
    history: str | None = None        # folder kept across runs (default OUT/history)
    register: str | None = None       # the register (default HISTORY/register)
    as_of: str | None = None          # transaction time for every input (default: each file's arrival)
    policy: str | None = None         # policy file (default: the shipped gateway/policy/default.yaml)
    arrival: str = "mtime"            # where a file's arrival comes from: mtime, or its YYYY-MM[-DD] folder
    open_requests: str | None = None  # JSON lines (person_key, month) of open correction requests (the gate holds)

    def pipeline_options(self) -> PipelineOptions:
        """Beam options from the pass-through arguments, with the embedded runner by default."""
        args = list(self.beam_args)
        if not any(arg.startswith("--default_sdk_harness_log_level") for arg in args):
            args.append("--default_sdk_harness_log_level=ERROR")    # workers log only their errors
        options = PipelineOptions(args)
        standard = options.view_as(StandardOptions)
        if not any(arg.startswith("--runner") for arg in self.beam_args):
            standard.runner = EMBEDDED_RUNNER
        direct = options.view_as(DirectOptions)
        if direct.direct_num_workers and direct.direct_num_workers > 1 and \
                not any(arg.startswith("--direct_running_mode") for arg in self.beam_args):
            direct.direct_running_mode = "multi_processing"
        return options
