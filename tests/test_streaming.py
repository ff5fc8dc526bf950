"""Parsing streams: memory does not grow with file size beyond one declaration."""
import subprocess
import sys

from fixtures import builders as B

PROBE = """
import resource, sys
from gateway.ingest import DeclarationTask, index_file
from gateway.parse.declaration import read_declaration
from gateway.validate.rules import default_registry as _registry
path = sys.argv[1]
registry = _registry()
lines = 0
with open(path, "rb") as fh:
    for item in index_file(path, registry):
        if isinstance(item, DeclarationTask):
            for span in item.spans:
                lines += read_declaration(fh, item.file, span, item.envoi_number, item.norm_version).line_count
print(lines, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def _peak_mb(path) -> tuple[int, int]:
    done = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, check=True)
    lines, peak = done.stdout.split()
    return int(lines), int(peak)


def test_parsing_a_file_four_times_larger_needs_no_more_memory(tmp_path):
    people = [(B.a_person(nir=B.nir_for(1, B.date(1980, 1, 1), 75, 100, n), birth=B.date(1980, 1, 1),
                          contract=f"C{n:05d}"), [B.a_payment()]) for n in range(1, 40)]
    envoi = B.a_dsn_file(*people)
    small, large = tmp_path / "small.dsn", tmp_path / "large.dsn"
    small.write_bytes(envoi * 150)
    large.write_bytes(envoi * 600)
    small_lines, small_peak = _peak_mb(small)
    large_lines, large_peak = _peak_mb(large)
    assert large_lines > 3 * small_lines and large.stat().st_size > 25_000_000
    assert large_peak - small_peak < 15, (small_peak, large_peak)
