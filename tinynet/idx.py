"""Reading the IDX files MNIST and Fashion-MNIST are distributed as (data.load_idx makes a Dataset of them).

An IDX file is a header and then the numbers, big-endian:

    bytes 0-1   0, 0
    byte  2     the type of each number: 0x08 unsigned byte, 0x09 signed byte, 0x0B int16,
                0x0C int32, 0x0D float32, 0x0E float64
    byte  3     the number of dimensions k
    then        k sizes, each a big-endian unsigned 32-bit integer
    then        the numbers, the last dimension fastest

An images file has k = 3 (N, height, width), a labels file k = 1 (N,). Either may be gzipped
(as they are downloaded), which is told from its first two bytes, not its name. Every way a
file can be wrong is refused in one line naming the file and what is wrong.
"""
from __future__ import annotations

import gzip
import os
from typing import Any

import numpy as np

from .checks import check_memory

TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: Any) -> np.ndarray:
    """The array an IDX file holds, of the shape its header gives, in native byte order."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            raw = f.read()
        if raw[:2] == GZIP_MAGIC:
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as e:  # a missing file, a directory, a cut-off gzip stream
        raise ValueError(f"{name}: cannot read it as an IDX file: {e}") from None
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in TYPES or raw[3] == 0:
        raise ValueError(f"{name}: not an IDX file: it must begin with the bytes 0 0, a type code "
                         f"(8, 9, 11, 12, 13 or 14) and a number of dimensions >= 1; it begins {raw[:4].hex(' ')}")
    dtype, k = np.dtype(TYPES[raw[2]]), raw[3]
    if len(raw) < 4 + 4 * k:
        raise ValueError(f"{name}: truncated: its header announces {k} dimensions but the file ends at byte {len(raw)}")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=k, offset=4))
    expected = int(np.prod(shape)) * dtype.itemsize
    body = len(raw) - 4 - 4 * k
    if body != expected:
        which = "truncated" if body < expected else "longer than its header says"
        raise ValueError(f"{name}: {which}: the header gives shape {shape}, {expected:,} bytes of numbers, "
                         f"and the file holds {body:,}")
    check_memory(f"read_idx({name})", expected + 8 * int(np.prod(shape)))
    return np.frombuffer(raw, dtype=dtype, offset=4 + 4 * k).reshape(shape).astype(dtype.newbyteorder("="))


def read_images_and_labels(images: Any, labels: Any, n_classes: int) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """x (N, height * width) float64, y (N,) int64 in 0..n_classes-1 and (height, width), from
    an images file and its labels file. Unsigned bytes (MNIST's grey levels 0..255) are divided
    by 255 so every input lies in [0, 1]; other types are taken as they are."""
    x, y = read_idx(images), read_idx(labels)
    if x.ndim != 3:
        raise ValueError(f"{os.fspath(images)}: an images file has 3 dimensions (N, height, width), this one {x.shape}")
    if y.ndim != 1:
        raise ValueError(f"{os.fspath(labels)}: a labels file has 1 dimension (N,), this one {y.shape}")
    if len(x) != len(y):
        raise ValueError(f"{os.fspath(images)} holds {len(x):,} images but {os.fspath(labels)} {len(y):,} labels: "
                         f"are they from the same set (both train, or both t10k)?")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{os.fspath(labels)}: labels must be integers, this file holds {y.dtype}")
    bad = np.flatnonzero((y < 0) | (y >= n_classes))
    if len(bad):
        raise ValueError(f"{os.fspath(labels)}: label {int(y[bad[0]])} at index {bad[0]:,} is out of range "
                         f"0..{n_classes - 1} (n_classes={n_classes}; pass n_classes= for another number of classes)")
    scale = 255.0 if x.dtype == np.uint8 else 1.0
    return x.reshape(len(x), -1).astype(np.float64) / scale, y.astype(np.int64), (x.shape[1], x.shape[2])
