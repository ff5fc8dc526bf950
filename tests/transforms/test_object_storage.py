"""The whole run on object storage: flows read from ``s3://``, datasets, history and the register written there,
against an S3-compatible server on 127.0.0.1 (moto's server: started by .ci/run, or here when it is not)."""
import os
from pathlib import Path

import pytest

from fixtures.object_store import s3_endpoint
from gateway.options import Settings
from gateway.run import run
from gateway.storage import list_files, read_bytes
from gateway.versioning import store
from tests.conftest import BUNDLED, TEST_KEY
from tools.output_digest import register_digests

BUCKET = "drm-gateway-test"


@pytest.fixture(scope="module")
def endpoint():
    """An S3-compatible endpoint: DRM_GATEWAY_TEST_S3 (CI), else a moto server started for these tests."""
    with s3_endpoint() as url:
        if url is None:
            pytest.skip("no S3-compatible server: moto_server is not installed (pip install -e '.[test]')")
        yield url


@pytest.fixture
def s3(endpoint, monkeypatch):
    """The AWS settings every S3 client here reads (pyarrow, deltalake, boto3), and an empty bucket."""
    import boto3
    for name, value in {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                        "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"}.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3")
    if BUCKET in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            for item in page.get("Contents", []):
                client.delete_object(Bucket=BUCKET, Key=item["Key"])
    else:
        client.create_bucket(Bucket=BUCKET)
    return client


def _sample(tmp_path: Path) -> Path:
    """The edge-case flows (CRLF, Latin-1, envelopes, defects) and one month of the generated ones: every kind of
    output, a third of the bundled flows' objects (each object-store write is several requests)."""
    import shutil
    flows = tmp_path / "flows"
    shutil.copytree(BUNDLED / "edge", flows / "edge")
    shutil.copytree(BUNDLED / "generated" / "2025-04", flows / "generated" / "2025-04")
    return flows


def _upload(client, folder: Path, prefix: str) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        client.put_object(Bucket=BUCKET, Key=f"{prefix}/{path.relative_to(folder).as_posix()}", Body=path.read_bytes())


def _outputs(root: str, datasets: tuple[str, ...] = ("resources", "avro", "quarantine", "warnings", "flags", "bases",
                                                     "published", "decisions")) -> dict[str, bytes]:
    """Every file of the datasets (top folders) ``datasets`` of an output folder (local or s3://), by its path below
    the folder."""
    return {path[len(root) + 1:]: read_bytes(path) for path in list_files(root)
            if path[len(root) + 1:].split("/")[0] in datasets}


def test_a_run_reads_its_flows_from_object_storage_and_writes_every_output_there_as_on_disk(s3, tmp_path):
    flows = _sample(tmp_path)
    _upload(s3, flows, "flows")
    local = run(Settings((str(flows),), str(tmp_path / "out"), TEST_KEY, arrival="folder"))
    remote = run(Settings((f"s3://{BUCKET}/flows",), f"s3://{BUCKET}/out", TEST_KEY, arrival="folder"))

    for key in ("run_id", "files", "lines_read", "lines_used", "lines_ignored", "lines_quarantined", "resources",
                "register", "floating", "gate", "inputs"):
        assert remote.manifest[key] == local.manifest[key], key
    assert remote.manifest["resources"] > 0 and remote.manifest["conservation_holds"]
    written = _outputs(f"s3://{BUCKET}/out")
    assert written == _outputs(str(tmp_path / "out"))
    assert {path.split("/")[0] for path in written} == {"resources", "avro", "quarantine", "warnings", "flags", "bases",
                                                         "published"}
    reports = _outputs(f"s3://{BUCKET}/out", ("report",))                # declarants' and rules' pages, uploaded
    assert reports == _outputs(str(tmp_path / "out"), ("report",))      # several at a time: the same files
    assert sum(path.startswith("report/declarants/") for path in reports) > 20
    assert read_bytes(f"s3://{BUCKET}/out/run.json")                       # the manifest, read back
    assert any(p.endswith("report/index.html") for p in list_files(f"s3://{BUCKET}/out/report"))
    assert not list_files(f"s3://{BUCKET}/out/.staging")                    # spilled records never left behind
    register = f"s3://{BUCKET}/out/history/register"
    assert [c.run_id for c in store.commits(register)] == [local.manifest["run_id"]]
    assert sorted(map(repr, store.load_all_versions(register))) == \
        sorted(map(repr, store.load_all_versions(tmp_path / "out" / "history" / "register")))
    assert register_digests(tmp_path / "out" / "history" / "register")     # (the local register is real)


def _keys(client, prefix: str) -> list[str]:
    return sorted(item["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
                  for item in page.get("Contents", []))


def test_an_object_is_uploaded_whole_at_its_name_and_content_failing_half_way_leaves_the_previous_one(s3):
    """S3 makes an object appear whole when its upload completes: it is written at its name, with no temporary
    object (a copy and a delete more) nor folder marker; content whose making fails is never uploaded."""
    from gateway.storage import write_chunks, write_json

    def failing():
        yield "début, "
        raise RuntimeError("template failed")

    target = f"s3://{BUCKET}/out/report/declarants/one.json"
    write_json(target, {"déclarant": "un", "lignes": [1, 2]})
    assert read_bytes(target) == '{\n  "déclarant": "un",\n  "lignes": [\n    1,\n    2\n  ]\n}\n'.encode()
    with pytest.raises(RuntimeError, match="template failed"):
        write_chunks(target, failing())
    assert read_bytes(target).startswith(b'{\n  "d')                   # the previous object, whole
    assert _keys(s3, "out/") == ["out/report/declarants/one.json"]     # no temporary object, no folder marker


def test_uploads_beside_the_caller_all_finish_and_the_first_failure_is_raised(s3):
    """Files written several at a time on object storage (``Writes``): every upload is waited for, and one that
    failed (a bucket that does not exist) makes the block fail once the others are done."""
    from gateway.storage import Writes
    with pytest.raises(OSError):
        with Writes(f"s3://{BUCKET}/pages") as writes:
            for number in range(12):
                writes.write(f"s3://{BUCKET}/pages/{number}.html", (f"page {number}",), "\n")
            writes.write("s3://drm-gateway-no-such-bucket/pages/x.html", ("lost",))
    assert [read_bytes(f"s3://{BUCKET}/pages/{n}.html") for n in range(12)] == [f"page {n}\n".encode() for n in range(12)]
    with pytest.raises(KeyError, match="the block's own"):           # a block that fails: its failure is raised
        with Writes(f"s3://{BUCKET}/pages") as writes:
            writes.write("s3://drm-gateway-no-such-bucket/pages/x.html", ("lost",))
            raise KeyError("the block's own")


@pytest.mark.parametrize("uri", ["s3://drm-gateway-test", "s3://drm-gateway-test/", "s3://drm-gateway-test/out/a.json",
                                 "s3://drm-gateway-test/out/folder/", "s3://drm-gateway-test/a//b",
                                 "s3://drm-gateway-test/caf%C3%A9/x%20y.txt", "s3://drm-gateway-test/o'neil/(1).txt"])
def test_a_store_uri_names_the_path_pyarrow_names_and_one_file_system_per_bucket(s3, uri):
    """The path in the store is the one pyarrow's own parser gives; the file system is made once per bucket and
    client settings, and made again when the settings change."""
    from pyarrow import fs
    from gateway.storage import remote_filesystem
    filesystem, where = remote_filesystem(uri)
    assert where == fs.FileSystem.from_uri(uri)[1]
    assert remote_filesystem(f"s3://{BUCKET}/other")[0] is filesystem
    assert isinstance(filesystem, fs.S3FileSystem)


def test_a_store_file_system_follows_the_client_settings_and_odd_uris_go_to_pyarrow(s3, monkeypatch):
    import pyarrow as pa
    from gateway.storage import remote_filesystem
    first = remote_filesystem(f"s3://{BUCKET}/a")[0]
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    assert remote_filesystem(f"s3://{BUCKET}/a")[0] is not first
    with pytest.raises(pa.ArrowInvalid, match="Cannot parse URI"):
        remote_filesystem(f"s3://{BUCKET}/a b")                       # pyarrow's own parser refuses it


def test_a_missing_object_storage_input_is_a_clear_error(s3, tmp_path):
    from gateway.errors import UnreadableFlowError
    with pytest.raises(UnreadableFlowError, match="input not found @ s3://"):
        run(Settings((f"s3://{BUCKET}/nothing-here",), f"s3://{BUCKET}/out", TEST_KEY, arrival="folder"))
    assert not list_files(f"s3://{BUCKET}/out")


def test_a_dask_cluster_reads_and_writes_object_storage_as_the_embedded_runner_does(s3, endpoint, tmp_path_factory,
                                                                                   tmp_path):
    """Workers in a folder of their own that share nothing with the driver but the object store."""
    from tests.transforms.test_dask import DASK_RUNNER, cluster
    flows = _sample(tmp_path)
    _upload(s3, flows, "flows")
    local = run(Settings((str(flows),), str(tmp_path / "out"), TEST_KEY, arrival="folder"))
    settings = {name: os.environ[name] for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                                    "AWS_REGION", "AWS_ALLOW_HTTP")}
    with cluster(tmp_path_factory.mktemp("dask-s3-workers"), settings) as address:
        remote = run(Settings((f"s3://{BUCKET}/flows",), f"s3://{BUCKET}/dask-out", TEST_KEY, arrival="folder",
                              beam_args=(DASK_RUNNER, f"--dask_client_address={address}")))
    assert remote.manifest["resources"] == local.manifest["resources"] > 0
    assert _outputs(f"s3://{BUCKET}/dask-out") == _outputs(str(tmp_path / "out"))
    assert sorted(map(repr, store.load_all_versions(f"s3://{BUCKET}/dask-out/history/register"))) == \
        sorted(map(repr, store.load_all_versions(tmp_path / "out" / "history" / "register")))
