"""Cross-check of the playlist rewrite with an independent HLS parser (the
Python `m3u8` package) and an independent verifier (`cryptography`).

Every corpus playlist is rewritten by the binary (see conftest.py) in every
mode, with an RSA/SHA-1 and an ECDSA/SHA-256 key; then:
- `m3u8` parses input and output to the same playlist once the credential
  parameters are taken off the output's URIs (compared via its serializer);
- every URI of ours carries exactly one credential that verifies here, from
  the policy bytes and the public key, for the URL as CloudFront matches it;
  child playlists also carry a prefixed copy that verifies;
- other hosts, skd:// and data: URIs come back byte-identical;
- a non-playlist is refused with exit status 1 and a clear message.
"""
import base64
import json
import pathlib
import re
import subprocess
import urllib.parse

import m3u8
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from support import FIXTURES as KEYS
from support import CORPUS

HOST = "d111111abcdef8.cloudfront.net"
KEY_ID = "K2JCJMDEHXQW5F"
EXPIRES = 1_900_000_000
NOW = 1_800_000_000
PREFIX = "-PREFIX"
RESERVED = ("Expires", "Policy", "Signature", "Key-Pair-Id", "Hash-Algorithm")
KEYS_USED = [("rsa2048_pkcs1.pem", "sha1"), ("ec_p256_pkcs8.pem", "sha256")]
MODES = ["resign", "per-uri", "reuse"]
FILES = sorted(CORPUS.glob("*.m3u8"))


def playlist_url(path: pathlib.Path) -> str:
    return f"https://{HOST}/movies/movie_1/{path.name}"


def run(command, body: bytes, url: str, key: str, hash_name: str, mode: str) -> subprocess.CompletedProcess:
    args = [
        *command,
        "--url", url,
        "--private-key", str(KEYS / key),
        "--key-pair-id", KEY_ID,
        "--expires", str(EXPIRES),
        "--mode", mode,
        "--prefix", PREFIX,
        "--host", HOST,
        "--hash", hash_name,
    ]
    return subprocess.run(args, input=body, capture_output=True, timeout=120)


def is_credential(name: str) -> bool:
    name = urllib.parse.unquote(name)
    return name.removesuffix(PREFIX) in RESERVED


def strip(uri: str) -> str:
    """The URI without credential parameters (plain or prefixed)."""
    head, hash_, fragment = uri.partition("#")
    path, question, query = head.partition("?")
    if not question:
        return uri
    kept = [pair for pair in query.split("&") if not is_credential(pair.partition("=")[0])]
    head = path + ("?" + "&".join(kept) if kept and kept != [""] else "")
    return head + hash_ + fragment


def uri_slots(playlist: m3u8.M3U8):
    """(object, attribute, points at a playlist) for every URI the model holds."""
    slots = []
    for segment in playlist.segments:
        if segment.uri:  # the parts after the last full segment sit in one without a URI
            slots.append((segment, "uri", False))
        for part in segment.parts:
            slots.append((part, "uri", False))
    seen = set()
    for holder in [*playlist.keys, *playlist.segment_map, *[s.init_section for s in playlist.segments]]:
        if holder is not None and id(holder) not in seen and getattr(holder, "uri", None):
            seen.add(id(holder))
            slots.append((holder, "uri", False))
    for key in playlist.session_keys:
        if key is not None and key.uri:
            slots.append((key, "uri", False))
    for variant in playlist.playlists:
        slots.append((variant, "uri", True))
    for media in playlist.media:
        if media.uri:
            slots.append((media, "uri", True))
    for iframe in playlist.iframe_playlists:
        slots.append((iframe, "uri", True))
    for data in playlist.session_data:
        if data.uri:
            slots.append((data, "uri", False))
    for report in playlist.rendition_reports:
        slots.append((report, "uri", True))
    if playlist.preload_hint is not None:
        slots.append((playlist.preload_hint, "uri", False))
    return slots


def load(text: str, url: str) -> m3u8.M3U8:
    return m3u8.loads(text.removeprefix("\ufeff"), uri=url)


def absolute(url: str, uri: str) -> str:
    """The URL a player requests (host lower-cased, default port dropped)."""
    joined = urllib.parse.urljoin(url, uri.partition("#")[0])
    parts = urllib.parse.urlsplit(joined)
    host = parts.hostname or ""
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    netloc = host if parts.port in (None, default) else f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, ""))


def ours(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme in ("http", "https") and parts.hostname == HOST


def cf_decode(text: str) -> bytes:
    return base64.b64decode(text.replace("-", "+").replace("_", "=").replace("~", "/"))


def pattern_matches(pattern: str, text: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, flags=re.DOTALL) is not None


def verify(url: str, suffix: str, public_key) -> dict:
    """Checks the credential under `suffix` as CloudFront would; returns its policy."""
    base, _, query = url.partition("?")
    pairs = [pair.partition("=") for pair in query.split("&")] if query else []
    params = {}
    remaining = []
    for name, eq, value in pairs:
        plain = urllib.parse.unquote(name)
        if plain.endswith(suffix) and plain[: len(plain) - len(suffix)] in RESERVED:
            key = plain[: len(plain) - len(suffix)]
            assert key not in params, f"{key}{suffix} twice in {url}"
            params[key] = urllib.parse.unquote(value)
        elif suffix and plain in RESERVED:
            continue  # CloudFront removed its own before the origin saw the URL
        else:
            remaining.append(name + eq + value)
    matched = base + ("?" + "&".join(remaining) if remaining else "")
    signature = cf_decode(params["Signature"])
    assert params["Key-Pair-Id"] == KEY_ID
    digest = hashes.SHA256() if params.get("Hash-Algorithm") == "SHA256" else hashes.SHA1()
    if "Policy" in params:
        assert "Expires" not in params
        policy_bytes = cf_decode(params["Policy"])
    else:
        policy_bytes = json.dumps(
            {"Statement": [{"Resource": matched, "Condition": {"DateLessThan": {"AWS:EpochTime": int(params["Expires"])}}}]},
            separators=(",", ":"),
        ).encode()
    if isinstance(public_key, rsa.RSAPublicKey):
        public_key.verify(signature, policy_bytes, padding.PKCS1v15(), digest)
    else:
        public_key.verify(signature, policy_bytes, ec.ECDSA(digest))
    statement = json.loads(policy_bytes)["Statement"][0]
    assert pattern_matches(statement["Resource"], matched), (statement["Resource"], matched)
    condition = statement["Condition"]
    assert NOW < condition["DateLessThan"]["AWS:EpochTime"] <= EXPIRES
    return statement


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("key,hash_name", KEYS_USED)
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_rewrite_matches_an_independent_parser(rewrite_command, path, key, hash_name, mode):
    url = playlist_url(path)
    body = path.read_bytes()
    result = run(rewrite_command, body, url, key, hash_name, mode)
    assert result.returncode == 0, result.stderr.decode()
    text_in = body.decode("utf-8")
    text_out = result.stdout.decode("utf-8")
    assert text_in.startswith("\ufeff") == text_out.startswith("\ufeff")
    assert ("\r\n" in text_in) == ("\r\n" in text_out)
    assert text_out.count("\n") == text_in.count("\n"), "same lines"

    before, after = load(text_in, url), load(text_out, url)
    assert before.is_variant == after.is_variant
    slots_in, slots_out = uri_slots(before), uri_slots(after)
    assert len(slots_in) == len(slots_out) > 0

    private = serialization.load_pem_private_key((KEYS / key).read_bytes(), password=None)
    public = private.public_key()
    signed = 0
    for (obj_in, attr, playlist), (obj_out, _, _) in zip(slots_in, slots_out):
        uri_in, uri_out = getattr(obj_in, attr), getattr(obj_out, attr)
        assert strip(uri_out) == strip(uri_in), "only the credential changed"
        target = absolute(url, uri_in)
        if not ours(target):
            assert uri_out == uri_in, f"{uri_in} is not ours and must stay as it was"
            continue
        signed += 1
        request = absolute(url, uri_out)
        assert len(re.findall(r"(?:^|[?&])Signature=", request)) == 1, request
        added = uri_out[len(strip(uri_in).partition("#")[0]):].partition("#")[0]
        assert re.fullmatch(r"[A-Za-z0-9\-_.~=&?]*", added), f"needs no escaping: {added}"
        verify(request, "", public)
        child = playlist or urllib.parse.urlsplit(target).path.lower().endswith(".m3u8")
        if child:
            verify(request, PREFIX, public)
        else:
            assert "Signature" + PREFIX not in uri_out
        setattr(obj_out, attr, strip(uri_out))
    assert signed > 0
    # With the credentials off, the independent parser serializes both alike.
    assert after.dumps() == before.dumps()


@pytest.mark.parametrize(
    "body,message",
    [
        (b"\x00\x01\x02binary", "not a playlist"),
        (b"<html><body>error page</body></html>", "not a playlist"),
        (b"#EXTM3U\n\xff\xfeseg.ts\n", "not UTF-8"),
    ],
)
def test_non_playlists_exit_1_with_a_message(rewrite_command, body, message):
    result = run(rewrite_command, body, f"https://{HOST}/movies/movie_1/index.m3u8", "rsa2048_pkcs1.pem", "sha1", "resign")
    assert result.returncode == 1
    assert result.stdout == b""
    assert message in result.stderr.decode()
