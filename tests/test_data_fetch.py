"""Downloads, checksums, atomic writes and unpacking, offline (file:// and a 127.0.0.1 server)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
import zipfile
from pathlib import Path

import pytest

from negkit.data import loaders, registry
from negkit.data.downloads import ChecksumError, FetchError, download, unpack, verify_file
from negkit.data.errors import DataMissingError
from negkit.data.paths import data_home
from negkit.data.registry import Dataset, Remote

PAYLOAD = b"0 1 2\n1 0\n"
SHA = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def source(tmp_path) -> Path:
    src = tmp_path / "source"
    src.mkdir()
    (src / "train.txt").write_bytes(PAYLOAD)
    (src / "test.txt").write_bytes(b"0 3\n1 2\n")
    return src


@pytest.fixture
def server(source):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(source))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".part")]


def test_download_file_url_verified(source, tmp_path):
    dest = tmp_path / "out" / "train.txt"
    assert download((source / "train.txt").as_uri(), dest, SHA) == dest
    assert dest.read_bytes() == PAYLOAD and leftovers(dest.parent) == []


def test_download_http_server(server, tmp_path):
    dest = download(f"{server}/train.txt", tmp_path / "d" / "t.txt", SHA, size=len(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD


def test_checksum_mismatch_leaves_old_file_and_no_temp(source, tmp_path):
    dest = tmp_path / "out" / "train.txt"
    dest.parent.mkdir()
    dest.write_bytes(b"old contents")
    with pytest.raises(ChecksumError, match="sha256 .* does not match"):
        download((source / "train.txt").as_uri(), dest, "0" * 64)
    assert dest.read_bytes() == b"old contents" and leftovers(dest.parent) == []
    with pytest.raises(ChecksumError, match="md5"):
        download((source / "train.txt").as_uri(), dest, md5="0" * 32)
    with pytest.raises(ChecksumError, match="size 10 bytes, expected 11"):
        verify_file(source / "train.txt", size=11)


def test_offline_and_http_errors(server, tmp_path):
    dest = tmp_path / "x.txt"
    with pytest.raises(FetchError, match="cannot download .*404"):
        download(f"{server}/missing.txt", dest)
    with pytest.raises(FetchError, match="offline"):
        download("http://127.0.0.1:9/none.txt", dest, timeout=5)
    assert not dest.exists() and leftovers(tmp_path) == []


def test_unpack_zip_strips_top_folder_and_maps_members(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("ml-tiny/u.data", "1\t2\t3\t4\n")
        z.writestr("ml-tiny/README", "hi")
    out = unpack(archive, tmp_path / "all")
    assert sorted(p.name for p in out) == ["README", "u.data"]
    assert (tmp_path / "all" / "u.data").read_text() == "1\t2\t3\t4\n"
    unpack(archive, tmp_path / "one", {"ml-tiny/README": "docs/README.txt"})
    assert (tmp_path / "one" / "docs" / "README.txt").read_text() == "hi"
    with pytest.raises(FetchError, match="not in the archive"):
        unpack(archive, tmp_path / "x", {"nope": "n"})
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../escape.txt", "x")
    with pytest.raises(FetchError, match="escapes the target folder"):
        unpack(evil, tmp_path / "e")
    (tmp_path / "plain.txt").write_text("x")
    with pytest.raises(FetchError, match="not a zip or tar"):
        unpack(tmp_path / "plain.txt", tmp_path / "p")


def test_data_home(monkeypatch, tmp_path):
    monkeypatch.setenv("NEGKIT_DATA", str(tmp_path / "a" / "b"))
    assert data_home() == tmp_path / "a" / "b" and (tmp_path / "a" / "b").is_dir()
    monkeypatch.delenv("NEGKIT_DATA")
    assert data_home(create=False).parts[-2:] == ("negkit", "data")


@pytest.fixture
def tiny_dataset(monkeypatch, tmp_path, source):
    """A registry entry whose sources are local files, with NEGKIT_DATA in tmp_path."""
    monkeypatch.setenv("NEGKIT_DATA", str(tmp_path / "home"))
    archive = source / "split.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(source / "test.txt", "tiny/test.txt")
    ds = Dataset(
        "tiny", "interactions", "recsys/tiny", ("train.txt", "test.txt"), "tiny", "here", "none",
        (Remote((source / "train.txt").as_uri(), "train.txt", sha256=SHA),
         Remote(archive.as_uri(), "split.zip", members={"tiny/test.txt": "test.txt"})),
        {"test.txt": hashlib.sha256(b"0 3\n1 2\n").hexdigest()},
        loader=loaders.load_lightgcn, counter=loaders.info_lightgcn,
    )  # fmt: skip
    monkeypatch.setitem(registry.DATASETS, "tiny", ds)
    return ds


def test_registry_fetch_then_load(tiny_dataset, source, tmp_path):
    with pytest.raises(DataMissingError, match="negkit data fetch tiny"):
        registry.load("tiny")
    folder = registry.fetch("tiny")
    assert folder == tmp_path / "home" / "recsys" / "tiny"
    assert sorted(p.name for p in folder.iterdir()) == ["test.txt", "train.txt"]
    assert registry.info("tiny") == {"users": 2, "items": 4, "train": 3, "test": 2}
    (source / "train.txt").unlink()  # present and verified: no second download
    assert registry.fetch("tiny") == folder
    with pytest.raises(FetchError, match="cannot download"):
        registry.fetch("tiny", force=True)
    assert (folder / "train.txt").read_bytes() == PAYLOAD


def test_registry_fetch_detects_corrupt_source(tiny_dataset, source):
    (source / "train.txt").write_bytes(b"0 1\n")
    with pytest.raises(ChecksumError, match="corrupt or changed"):
        registry.fetch("tiny")
    assert not (tiny_dataset.path() / "train.txt").exists()


def test_registry_names_and_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("NEGKIT_DATA", str(tmp_path))
    wanted = set(
        "text8 ml-100k ml-1m gowalla yelp2018 amazon-book ml-1m_lightgcnpp cora citeseer pubmed "
        "blogcatalog ppi wikipedia_pos text_corpus_en wordsim353 simlex999 google_analogy".split()
    )
    assert wanted <= set(registry.names())
    assert registry.get("corpus").name == "text_corpus_en"
    assert registry.get("gowalla").folder == "recsys/gowalla"
    assert registry.get("simlex999").folder == "word_eval/simlex999"
    for name in registry.names():
        ds = registry.get(name)
        assert ds.kind in registry.KINDS and ds.files
        for r in ds.remotes:
            assert r.url.startswith(("https://", "http://")), r.url
    with pytest.raises(ValueError, match="unknown data set 'nope'"):
        registry.get("nope")
    with pytest.raises(DataMissingError, match="negkit data fetch blogcatalog"):
        registry.locate("blogcatalog")
    with pytest.raises(FetchError, match="cannot be downloaded"):
        registry.fetch("corpus")
