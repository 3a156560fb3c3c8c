"""Parsing tus `Upload-Checksum` and verifying chunks with every advertised algorithm."""

import base64
import hashlib

import pytest

from omnidrop.uploads.checksums import ALGORITHMS, ChunkDigest, InvalidChecksum, UnsupportedChecksum
from omnidrop.uploads.errors import ChecksumMismatch


def header(algorithm: str, raw: bytes) -> str:
    return f"{algorithm} {base64.b64encode(raw).decode()}"


def test_sha1_is_always_there_and_the_others_are_offered():
    assert {"sha1", "md5", "sha256", "crc32c"} <= set(ALGORITHMS)


@pytest.mark.parametrize("algorithm", ["sha1", "md5", "sha256"])
def test_a_digest_over_pieces_matches_the_whole(algorithm):
    check = ChunkDigest.parse(header(algorithm, hashlib.new(algorithm, b"abcdef").digest()))
    check.update(b"abc")
    check.update(b"def")
    check.verify()


def test_crc32c_uses_the_castagnoli_polynomial():
    check = ChunkDigest.parse(header("crc32c", bytes.fromhex("e3069283")))  # the standard check value
    check.update(b"123456789")
    check.verify()


def test_a_different_chunk_is_a_mismatch():
    check = ChunkDigest.parse(header("sha1", hashlib.sha1(b"abc").digest()))
    check.update(b"abd")
    with pytest.raises(ChecksumMismatch):
        check.verify()


@pytest.mark.parametrize("value,error", [("blake3 AAAA", UnsupportedChecksum), ("SHA1 AAAA", UnsupportedChecksum),
                                         ("sha1 !!notbase64", InvalidChecksum)])
def test_unknown_algorithms_and_bad_digests_are_refused(value, error):
    with pytest.raises(error):
        ChunkDigest.parse(value)
