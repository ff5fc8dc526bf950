import filecmp
import json
import os
from pathlib import Path

import apache_beam as beam
import pyarrow.dataset as ds
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing import test_pipeline as beam_testing   # not a name pytest collects
from apache_beam.testing.util import assert_that, equal_to

from fixtures import builders as B
from fixtures.generator import Rates, generate
from gateway.options import Settings
from gateway.run import run
from tests.conftest import BUNDLED, TEST_KEY
from transforms.parse import ParseFlows
from tools.output_digest import register_digests
from transforms.publish import outcome_stats


def test_parse_flows_turns_files_into_counted_outcomes(tmp_path):
    """The transform emits outcomes whose lines add up to what was read, resources included."""
    path = tmp_path / "f.dsn"
    path.write_bytes(B.a_dsn_file((B.a_person(), [B.a_payment()]),
                                  (B.a_person(nir="1234567890123", contract="C00002"), [B.a_payment()])))
    read = path.read_bytes().count(b"\n")
    with beam_testing.TestPipeline(options=PipelineOptions(["--runner=FnApiRunner"])) as pipeline:
        totals = (pipeline
                  | beam.Create([[(str(path), "f.dsn", "")]])
                  | ParseFlows(TEST_KEY)
                  | beam.Flatten()
                  | beam.Map(outcome_stats)
                  | beam.Map(lambda s: (s["lines_read"], s["lines_used"] + s["lines_ignored"] + s["lines_quarantined"],
                                        s["resources"], s["quarantine_records"]))
                  | beam.CombineGlobally(lambda rows: tuple(map(sum, zip(*rows))) if rows else (0, 0, 0, 0)))
        assert_that(totals, equal_to([(read, read, 1, 2)]))   # bad NIR: DRM-FMT-002 and DRM-ID-005


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("flows")
    generate(folder, people=80, employers=5, bodies=2, months=4, seed=11, rates=Rates(defects=0.15))
    return folder


def _run(inputs, out, *args):
    return run(Settings(tuple(str(i) for i in inputs), str(out), TEST_KEY, args))


def _same_tree(a: Path, b: Path, *, skip: str = "") -> bool:
    """The same files with the same bytes, and registers holding the same rows (a Delta log has commit times)."""
    def listing(root: Path):
        return sorted(p.relative_to(root) for p in root.rglob("*")
                      if p.is_file() and not (skip and p.relative_to(root).parts[0] == skip)
                      and not p.is_relative_to(root / "history" / "register"))
    files_a, files_b = listing(a), listing(b)
    registers = skip == "history" or \
        register_digests(a / "history" / "register") == register_digests(b / "history" / "register")
    return registers and files_a == files_b and all(filecmp.cmp(a / f, b / f, shallow=False) for f in files_a)


def test_multi_process_run_gives_the_same_outputs_as_in_process(generated, tmp_path):
    """Two worker processes write byte-identical datasets and manifest."""
    single = _run([generated], tmp_path / "single")
    multi = _run([generated], tmp_path / "multi", "--direct_num_workers=2", "--direct_running_mode=multi_processing")
    assert single.manifest == multi.manifest
    assert _same_tree(tmp_path / "single", tmp_path / "multi")


def test_rerun_into_the_same_folder_gives_identical_outputs(generated, tmp_path):
    """The same inputs again give the same datasets, reports and manifest; the history keeps every run."""
    import shutil
    first = _run([generated], tmp_path / "b")
    shutil.copytree(tmp_path / "b", tmp_path / "a")
    _run([BUNDLED / "edge"], tmp_path / "b")       # another run in between…
    again = _run([generated], tmp_path / "b")      # …then the same run again into the same folder
    assert first.manifest == again.manifest and first.manifest["conservation_holds"]
    assert _same_tree(tmp_path / "a", tmp_path / "b", skip="history")
    assert len(list((tmp_path / "b" / "history" / "metrics").glob("[0-9a-f]*.json"))) == 2


def test_manifest_conserves_lines_and_lists_readable_datasets(generated, tmp_path):
    result = _run([generated], tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "run.json").read_text())
    assert manifest == result.manifest
    assert manifest["lines_read"] == manifest["lines_used"] + manifest["lines_ignored"] + manifest["lines_quarantined"]
    truth = json.loads((generated / "ground_truth.json").read_text())
    contents = [(generated / f).read_bytes() for f in truth["files"]]
    assert manifest["lines_read"] == sum(c.count(b"\n") + (1 if c and not c.endswith(b"\n") else 0) for c in contents)
    resources = ds.dataset(tmp_path / "out" / "resources", format="parquet", partitioning="hive").to_table()
    assert resources.num_rows == manifest["resources"]
    quarantine = ds.dataset(tmp_path / "out" / "quarantine", format="parquet").to_table()
    assert sum(quarantine.column("lines").to_pylist()) == manifest["lines_quarantined"]
    assert {d["rule_id"] for d in truth["defects"]} <= set(quarantine.column("rule_id").to_pylist()) | set(
        ds.dataset(tmp_path / "out" / "warnings", format="parquet").to_table().column("rule_id").to_pylist())
    assert any(path.endswith(".avro") for path in manifest["outputs"]["avro"])


def test_the_pipeline_graph_holds_no_input_path_however_many_files(generated, tmp_path):
    """The file list is staged and read by the first step: the job graph a runner receives names none of the
    inputs, and does not grow with their number."""
    from gateway.inputs import resolve_inputs
    from transforms.pipeline import build
    files = resolve_inputs((str(generated),))
    sizes = []
    for count in (1, len(files)):
        pipeline = beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner"]))
        build(pipeline, files[:count], str(tmp_path / f"staging{count}"), TEST_KEY)
        graph = pipeline.to_runner_api().SerializeToString()
        assert not any(label.encode() in graph for _, label, _ in files[:count])
        sizes.append(len(graph))
    assert len(files) > 30 and abs(sizes[1] - sizes[0]) < 200


def test_the_workers_list_and_fingerprint_every_input_as_the_driver_would(tmp_path):
    """Listing and checksums are a pipeline of their own (the driver walks no folder and reads no input byte):
    the same files, labels, SHA-256, sizes and arrival dates as listing in one process and fingerprinting each
    file in place, in input order, for nested dated folders, hidden and temporary files, a name that is not
    UTF-8, a link leading out of its folder (its target named, never read), a link inside it, and a file reached
    through two of the paths given (it keeps the label of the first)."""
    import os
    import shutil
    from gateway.inputs import arrival_of, fingerprint, resolve_inputs
    from transforms.pipeline import inventory
    flows = tmp_path / "flows"
    shutil.copytree(BUNDLED / "edge", flows)
    (flows / os.fsdecode(b"caf\xe9.dsn")).write_bytes(B.a_dsn_file())
    (flows / ".hidden").mkdir()
    (flows / ".hidden" / "x.dsn").write_bytes(B.a_dsn_file())
    (flows / "2025-04" / "deep" / "deeper").mkdir(parents=True)
    (flows / "2025-04" / "deep" / "deeper" / "f.dsn").write_bytes(B.a_dsn_file())
    (flows / "2025-04" / "deep" / "f.dsn.part").write_bytes(b"partial")
    outside = tmp_path / "outside.dsn"
    outside.write_bytes(B.a_dsn_file())
    (flows / "link.dsn").symlink_to(outside)
    (flows / "2025-04" / "inside.dsn").symlink_to(flows / "2025-04" / "deep" / "deeper" / "f.dsn")
    roots = (str(flows / "2025-04"), str(flows))
    files = resolve_inputs(roots)
    assert {refused for _, _, refused in files} == {"", "NAME", "LINK"}
    for as_of, arrival in ((None, "mtime"), ("2025-05-02T00:00:00Z", "mtime")):
        staging = tmp_path / f"staging-{arrival}-{as_of}"
        listed, inputs, arrivals, _ = inventory(roots, str(staging), (), as_of, arrival)
        assert listed == files
        assert inputs == [fingerprint(item) for item in files]
        assert arrivals == {label: arrival_of(path, label, as_of, arrival) for path, label, _ in files}
    dated = (str(flows / "2025-04"),)
    assert inventory(dated, str(tmp_path / "s"), (), None, "folder")[2] == {
        label: "2025-04-01T00:00:00Z" for _, label, _ in resolve_inputs(dated)}


def test_listing_in_the_pipeline_stops_on_the_same_errors_as_listing_in_place(tmp_path):
    """No flow file, a file outside any dated folder with --arrival folder: the same one-line errors, the first
    in label order."""
    from gateway.errors import ConfigurationError, UnreadableFlowError
    from transforms.pipeline import inventory
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "sub" / "notes.md").write_text("rien")
    with pytest.raises(UnreadableFlowError, match="no flow file @"):
        inventory((str(empty),), str(tmp_path / "s1"), ())
    flows = tmp_path / "flows"
    (flows / "b").mkdir(parents=True)
    (flows / "b" / "z.dsn").write_bytes(B.a_dsn_file())
    (flows / "a.dsn").write_bytes(B.a_dsn_file())
    with pytest.raises(ConfigurationError, match="no dated folder @ a.dsn"):
        inventory((str(flows),), str(tmp_path / "s2"), (), None, "folder")


@pytest.mark.parametrize("language", [None, "fr_FR:fr"], ids=["no-language-set", "a-language-set"])
def test_a_pipeline_leaves_the_environment_as_it_found_it(tmp_path, monkeypatch, language):
    """The terminal size and language given to argparse while Beam parses its options (transforms.pipeline) are
    the pipeline's only: afterwards the variables a user had are back, those they had not are gone."""
    from transforms.pipeline import inventory
    for name in ("COLUMNS", "LINES", "LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    if language:
        monkeypatch.setenv("LANGUAGE", language)
    monkeypatch.setenv("COLUMNS", "132")
    before = dict(os.environ)
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "f.dsn").write_bytes(B.a_dsn_file())
    assert len(inventory((str(flows),), str(tmp_path / "staging"), ())[0]) == 1
    assert dict(os.environ) == before
