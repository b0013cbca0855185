"""The object store behind the lake (fsspec): a local directory or any S3-compatible store.

Publishing is atomic on both: locally a file is written under a temporary name
and renamed; on S3 one PUT of the whole object (an object appears whole or not
at all), so a reader or a crash never sees half a file.
"""

from __future__ import annotations

import io
import os
import uuid

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from config import Settings

TMP = ".tmp-"  # temporary names start with it; never matched by *.parquet


def filesystem(settings: Settings) -> tuple[fsspec.AbstractFileSystem, str]:
    """The store and the lake's root inside it, from LAKE_URL and the LAKE_S3_* settings."""
    url = settings.lake_url
    if url.startswith("s3://"):
        # No listings cache: the sink resumes from what a listing shows, so it must be now's.
        options: dict = {"client_kwargs": {"region_name": settings.lake_s3_region}}
        options["use_listings_cache"] = False
        if settings.lake_s3_endpoint:
            options["endpoint_url"] = settings.lake_s3_endpoint
        if settings.lake_s3_access_key.get_secret_value():
            options["key"] = settings.lake_s3_access_key.get_secret_value()
            options["secret"] = settings.lake_s3_secret_key.get_secret_value()
        fs = fsspec.filesystem("s3", **options)
        return fs, url.removeprefix("s3://").rstrip("/")
    root = os.path.abspath(url)
    return fsspec.filesystem("file"), root


def parquet_bytes(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    return out.getvalue()


def publish(fs: fsspec.AbstractFileSystem, path: str, data: bytes) -> None:
    """Make ``path`` hold ``data`` whole, replacing what it held (a redo writes the same rows)."""
    if isinstance(fs, LocalFileSystem):
        directory, name = path.rsplit("/", 1)
        os.makedirs(directory, exist_ok=True)
        tmp = f"{directory}/{TMP}{uuid.uuid4().hex}-{name}"
        with open(tmp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        return
    fs.pipe_file(path, data)


def listing(fs: fsspec.AbstractFileSystem, pattern: str) -> list[str]:
    return [p for p in fs.glob(pattern) if TMP not in p.rsplit("/", 1)[-1]]


def remove_temporaries(fs: fsspec.AbstractFileSystem, root: str, topic: str, partition: int) -> None:
    """Leftovers of a crash mid-write (local only: an S3 PUT leaves none)."""
    if isinstance(fs, LocalFileSystem):
        for path in fs.glob(f"{root}/{topic}/day=*/partition={partition}/{TMP}*"):
            fs.rm_file(path)
