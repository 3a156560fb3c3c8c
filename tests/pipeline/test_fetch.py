"""download_link fetching against a local HTTP server; private targets are refused before any connect."""

import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from omnidrop.pipeline.fetch import FetchPolicy, LinkRefused, _pinned, fetch, filename_of

PAYLOAD = os.urandom(300_000)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/redirect/"):
            self.send_response(302)
            self.send_header("Location", self.path.removeprefix("/redirect/").replace("~", "/"))
            self.end_headers()
        elif self.path == "/scan.e57":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.send_header("Content-Disposition", 'attachment; filename="site scan.e57"')
            self.end_headers()
            self.wfile.write(PAYLOAD)
        elif self.path == "/unsized":  # no Content-Length: only the running count can stop it
            self.send_response(200)
            self.end_headers()
            self.wfile.write(PAYLOAD)
        elif self.path == "/stall":
            self.send_response(200)
            self.send_header("Content-Length", "10")
            self.end_headers()
            time.sleep(5)
        else:
            self.send_response(404)
            self.end_headers()


@pytest.fixture(scope="module")
def origin():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def policy(*allow, max_bytes=10_000_000, timeout=30.0):
    return FetchPolicy(max_bytes=max_bytes, timeout=timeout, connect_timeout=5, allow=allow)


async def run(url, pol):
    got = bytearray()

    async def sink(blocks):
        async for block in blocks:
            got.extend(block)
        return len(got)

    fetched = await fetch(url, pol, sink)
    return fetched, bytes(got)


async def test_allow_listed_local_server_is_fetched(origin):
    fetched, body = await run(f"{origin}/scan.e57", policy("127.0.0.1/32"))
    assert body == PAYLOAD and fetched.size == len(PAYLOAD)
    assert fetched.filename == "site scan.e57"


async def test_redirects_are_followed_and_each_hop_checked(origin):
    fetched, body = await run(f"{origin}/redirect/~scan.e57", policy("127.0.0.1"))
    assert body == PAYLOAD and fetched.final_url.endswith("/scan.e57")


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/x", "http://localhost:9/x", "http://10.0.0.1/x", "http://169.254.169.254/latest/meta-data/",
     "http://[::1]:9/x", "http://192.168.1.10/x", "http://100.64.0.1/x", "http://0.0.0.0/x"],
)
async def test_private_loopback_and_metadata_addresses_are_refused(url):
    with pytest.raises(LinkRefused, match="non-public address"):
        await run(url, policy())


@pytest.mark.parametrize("target", ["http:~~10.0.0.1~x", "http:~~169.254.169.254~latest~meta-data~", "http:~~127.0.0.2~x"])
async def test_a_redirect_to_a_private_address_is_refused(origin, target):
    # The origin itself is allowed; where it redirects is not.
    with pytest.raises(LinkRefused, match="non-public address"):
        await run(f"{origin}/redirect/{target}", policy("127.0.0.1/32"))


async def test_size_cap_by_header_and_by_count(origin):
    with pytest.raises(LinkRefused, match="byte limit"):
        await run(f"{origin}/scan.e57", policy("127.0.0.1", max_bytes=1000))
    with pytest.raises(LinkRefused, match="byte limit"):
        await run(f"{origin}/unsized", policy("127.0.0.1", max_bytes=1000))


async def test_stalled_download_times_out(origin):
    with pytest.raises(LinkRefused, match="did not finish"):
        await run(f"{origin}/stall", policy("127.0.0.1", timeout=1.0))


async def test_errors_and_bad_schemes_are_refused(origin):
    with pytest.raises(LinkRefused, match="HTTP 404"):
        await run(f"{origin}/missing", policy("127.0.0.1"))
    with pytest.raises(LinkRefused, match="not an http"):
        await run("ftp://example.org/x", policy())
    with pytest.raises(LinkRefused, match="cannot resolve"):
        await run("http://no-such-host.invalid/x", policy())


def test_the_connection_goes_to_the_checked_address_with_the_name_in_host():
    assert _pinned("https://scans.example.org:8443/a/b.zip?x=1", "93.184.216.34") == (
        "https://93.184.216.34:8443/a/b.zip?x=1", "scans.example.org:8443", "scans.example.org")
    assert _pinned("http://v6.example.org/f", "2606:2800:220:1::1")[0] == "http://[2606:2800:220:1::1]/f"


def test_filenames():
    assert filename_of("http://h/dir/scan%201.e57", None) == "scan 1.e57"
    assert filename_of("http://h/", "attachment; filename*=UTF-8''pano%20set.zip") == "pano set.zip"
    assert filename_of("http://h/", 'attachment; filename="..\\..\\evil.zip"') == "evil.zip"
    assert filename_of("http://h/", None) == "download"


@pytest.mark.parametrize(
    "address",
    ["::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:169.254.169.254",  # IPv4-mapped
     "::10.0.0.1", "::127.0.0.1", "::a9fe:a9fe",  # IPv4-compatible (deprecated, still routed by some stacks)
     "64:ff9b::a00:1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::c0a8:10a",  # NAT64 well-known prefix
     "64:ff9b:1::a00:1",  # NAT64 local-use prefix (RFC 8215): never public
     "2002:a00:1::1", "2002:7f00:1::", "2002:a9fe:a9fe::1", "2002:c0a8:10a::"],  # 6to4
)
def test_ipv6_forms_of_private_ipv4_addresses_are_not_public(address):
    import ipaddress

    assert not policy().allows("example.org", ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["::ffff:93.184.216.34", "64:ff9b::5db8:d822", "2002:5db8:d822::1",
                                     "2606:2800:220:1::1", "93.184.216.34"])
def test_public_addresses_and_ipv6_forms_of_public_ipv4_pass(address):
    import ipaddress

    assert policy().allows("example.org", ipaddress.ip_address(address))


def test_allow_list_covers_the_ipv4_address_inside_an_ipv6_form():
    import ipaddress

    assert policy("10.0.0.0/8").allows("example.org", ipaddress.ip_address("64:ff9b::a00:1"))
    assert not policy("10.0.0.0/8").allows("example.org", ipaddress.ip_address("64:ff9b::c0a8:10a"))


async def test_a_literal_nat64_url_is_refused_before_connecting():
    with pytest.raises(LinkRefused, match="non-public address"):
        await run("http://[64:ff9b::7f00:1]:9/x", policy())


@pytest.mark.parametrize(
    ("disposition", "name"),
    [
        ('attachment; filename=".."', "x.zip"),  # nothing usable: the URL's name
        ("attachment; filename*=UTF-8''..", "x.zip"),
        ("attachment; filename*=UTF-8''a%00b.jpg", "ab.jpg"),
        ("attachment; filename*=UTF-8''inv%E2%80%AEgpj.exe", "invgpj.exe"),  # U+202E
        ('attachment; filename="\u2066scan\u2069.e57"', "scan.e57"),
        ('attachment; filename="..\\..\\"', "x.zip"),  # nothing usable: the URL's name
    ],
)
def test_hostile_download_names_follow_the_naming_rule(disposition, name):
    assert filename_of("http://h/x.zip", disposition) == name


def test_a_5000_byte_download_name_is_cut_keeping_its_extension():
    name = filename_of("http://h/", f'attachment; filename="{"n" * 5000}.e57"')
    assert name.endswith(".e57") and len(name.encode()) <= 200
    assert filename_of("http://h/" + "%E2%80%AE" * 3 + "..", None) == "download"
