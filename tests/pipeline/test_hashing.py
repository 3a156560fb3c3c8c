import hashlib
import random

import pytest

from omnidrop.pipeline.hashing import sha256_file


@pytest.mark.parametrize("size, chunk", [(0, 1 << 20), (5 * 1024 + 3, 1024), ((1 << 20) * 2 + 17, 1 << 20)])
def test_sha256_matches_hashlib(tmp_path, size, chunk):
    data = random.Random(size).randbytes(size)
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert sha256_file(path, chunk_size=chunk) == hashlib.sha256(data).hexdigest()
