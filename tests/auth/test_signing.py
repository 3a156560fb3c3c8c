"""omnidrop's own signed URLs: HMAC over method, path and expiry; the key made once per data dir."""

import os
import stat
from urllib.parse import parse_qsl, urlsplit

import pytest

from omnidrop.auth.signing import EXPIRES, SIGNATURE, SignatureExpired, SignatureInvalid, UrlSigner, load_secret


def query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def test_sign_and_verify_and_every_alteration_is_refused():
    signer = UrlSigner(b"k" * 32)
    url = signer.sign("PUT", "/_omnidrop/parts/abc/1", 60, now=1000)
    q = query(url)
    assert q[EXPIRES] == "1060"
    signer.verify("PUT", "/_omnidrop/parts/abc/1", q, now=1059)
    with pytest.raises(SignatureExpired):
        signer.verify("PUT", "/_omnidrop/parts/abc/1", q, now=1061)
    with pytest.raises(SignatureInvalid):
        signer.verify("GET", "/_omnidrop/parts/abc/1", q, now=1000)
    with pytest.raises(SignatureInvalid):
        signer.verify("PUT", "/_omnidrop/parts/abc/2", q, now=1000)
    with pytest.raises(SignatureInvalid):  # a later expiry is an alteration, not a gift
        signer.verify("PUT", "/_omnidrop/parts/abc/1", {**q, EXPIRES: "99999"}, now=1000)
    with pytest.raises(SignatureInvalid):
        signer.verify("PUT", "/_omnidrop/parts/abc/1", {**q, SIGNATURE: "0" * 64}, now=1000)
    with pytest.raises(SignatureInvalid):
        signer.verify("PUT", "/_omnidrop/parts/abc/1", {}, now=1000)
    with pytest.raises(SignatureInvalid):  # another key
        UrlSigner(b"j" * 32).verify("PUT", "/_omnidrop/parts/abc/1", q, now=1000)


def test_secret_is_configured_or_generated_once(tmp_path):
    assert load_secret("configured", tmp_path) == b"configured"
    first = load_secret(None, tmp_path / "data")
    assert len(first) == 64 and load_secret(None, tmp_path / "data") == first
    assert stat.S_IMODE(os.stat(tmp_path / "data" / "secret_key").st_mode) == 0o600
