"""Downloads: stream over HTTP(S) with urllib, verify checksums, write atomically, unpack.

Every file is written to a temporary name in its target folder and moved into place
with :func:`os.replace` only once its checksum matched, so an interrupted or corrupt
download never leaves a file that looks complete.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from os import PathLike
from pathlib import Path, PurePosixPath

log = logging.getLogger(__name__)

__all__ = ["FetchError", "ChecksumError", "download", "file_sha256", "verify_file", "unpack"]

_CHUNK = 1 << 20


class FetchError(RuntimeError):
    """A download failed (offline, HTTP error) or a data set cannot be downloaded."""


class ChecksumError(FetchError):
    """A file's checksum differs from the expected one."""


def file_sha256(path: str | PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _md5(path: str | PathLike) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def verify_file(
    path: str | PathLike, sha256: str | None = None, md5: str | None = None, size: int | None = None
) -> None:
    """Raise :class:`ChecksumError` when ``path`` does not have the given size / digests."""
    p = Path(path)
    if size is not None and p.stat().st_size != size:
        raise ChecksumError(f"{p}: size {p.stat().st_size:,} bytes, expected {size:,}")
    if sha256 is not None:
        got = file_sha256(p)
        if got != sha256.lower():
            raise ChecksumError(f"{p}: sha256 {got} does not match the expected {sha256}")
    if md5 is not None:
        got = _md5(p)
        if got != md5.lower():
            raise ChecksumError(f"{p}: md5 {got} does not match the expected {md5}")


def download(
    url: str,
    dest: str | PathLike,
    sha256: str | None = None,
    *,
    md5: str | None = None,
    size: int | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``dest``: stream to a temporary file, verify, then ``os.replace``.

    ``sha256`` / ``md5`` / ``size`` are checked when given (a download without any is
    logged as unverified).  On any failure the temporary file is removed and ``dest``
    is left as it was.
    """
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    except OSError as e:
        raise FetchError(f"cannot write to {dest.parent}: {e.strerror or e}") from None
    tmp = Path(tmp_name)
    try:
        req = urllib.request.Request(url, headers={"User-Agent": "negkit"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r, os.fdopen(fd, "wb") as f:
                fd = -1
                shutil.copyfileobj(r, f, _CHUNK)
        except urllib.error.HTTPError as e:
            raise FetchError(f"cannot download {url}: HTTP {e.code} {e.reason}") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise FetchError(
                f"cannot download {url}: {reason} (offline? the data set needs network access "
                "once; or set NEGKIT_DATA to a folder that already has it)"
            ) from None
        if sha256 is None and md5 is None and size is None:
            log.warning("%s: no checksum is known for %s; the download is unverified", dest, url)
        try:
            verify_file(tmp, sha256, md5, size)
        except ChecksumError as e:
            raise ChecksumError(f"download of {url} is corrupt or changed: {e}") from None
        os.replace(tmp, dest)
        log.info("downloaded %s -> %s", url, dest)
        return dest
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp.exists():
            tmp.unlink()


def _safe_member(name: str) -> PurePosixPath:
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts:
        raise FetchError(f"archive member {name!r} escapes the target folder")
    return p


def unpack(
    archive: str | PathLike, folder: str | PathLike, members: dict[str, str] | None = None
) -> list[Path]:
    """Extract a ``.zip`` / ``.tar[.gz|.bz2|.xz]`` archive into ``folder``, atomically per file.

    ``members`` maps archive member names to target names (relative to ``folder``);
    by default every file is extracted, without the top folder when all share one.
    """
    archive, folder = Path(archive), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        zf = zipfile.ZipFile(archive)
        names = [i.filename for i in zf.infolist() if not i.is_dir()]
        opener = zf.open
        closer = zf.close
    elif tarfile.is_tarfile(archive):
        tf = tarfile.open(archive)
        infos = {m.name: m for m in tf.getmembers() if m.isfile()}
        names = list(infos)
        opener = lambda n: tf.extractfile(infos[n])  # noqa: E731
        closer = tf.close
    else:
        raise FetchError(f"{archive}: not a zip or tar archive")
    try:
        if members is None:
            paths = [_safe_member(n) for n in names]
            tops = {p.parts[0] for p in paths}
            strip = len(tops) == 1 and all(len(p.parts) > 1 for p in paths)
            members = {
                n: str(PurePosixPath(*p.parts[1:]) if strip else p) for n, p in zip(names, paths)
            }
        missing = sorted(set(members) - set(names))
        if missing:
            raise FetchError(f"{archive}: members {missing} are not in the archive")
        out = []
        for name, target in members.items():
            dest = folder / _safe_member(target)
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
            try:
                with opener(name) as src, os.fdopen(fd, "wb") as f:
                    shutil.copyfileobj(src, f, _CHUNK)
                os.replace(tmp, dest)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            out.append(dest)
        return out
    finally:
        closer()
