"""End to end: real players (ffmpeg, hls.js in Debian's Chromium) and
refusals, against the local stack (edge + the real function binaries through
the Lambda Runtime API + an S3 API over a folder)."""
import json
import pathlib
import re
import subprocess
import time
import urllib.parse

import generate  # botocore's CloudFrontSigner, from tests/vectors
import pytest
from stack import KEY_PAIR_ID, SAMPLE_MEDIA, Stack, ffmpeg_copy, media_folder, pid_alive, wait_until
from support import FIXTURES, ROOT, CORPUS, binary

ARTIFACTS = ROOT / "tests" / "artifacts"
CLOUDFRONT = "https://d111111abcdef8.cloudfront.net"
ECDSA_KEY_ID = "KECDSAP256KEY01"
URI_ATTRIBUTE = re.compile(r'(?:^|,|:)(?:URI|SERVER-URI|X-ASSET-URI|X-ASSET-LIST)="([^"]*)"')


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("stack")
    # A second, ECDSA key in the trusted key group, as during a rotation to ECDSA.
    running = Stack(workdir, media_folder(workdir), trust=[f"{ECDSA_KEY_ID}={FIXTURES / 'ec_p256_public.pem'}"])
    yield running
    running.stop()


@pytest.fixture(scope="module")
def cloudfront_stack(tmp_path_factory):
    """A stack that believes it is the corpus's distribution, with the corpus in movie_1."""
    workdir = tmp_path_factory.mktemp("corpus")
    corpus = [(p.name, p.read_bytes()) for p in sorted(CORPUS.glob("*.m3u8"))]
    assert corpus, f"no playlists in {CORPUS}"
    running = Stack(workdir, media_folder(workdir, corpus), public_url=CLOUDFRONT)
    yield running
    running.stop()


def uris(playlist: str):
    """Every URI in a playlist, found independently of the Rust scanner."""
    found = []
    for line in playlist.replace("\r\n", "\n").split("\n"):
        line = line.lstrip("\ufeff").rstrip()
        if not line:
            continue
        if line.startswith("#"):
            found += URI_ATTRIBUTE.findall(line)
        else:
            found.append(line)
    return found


def segment_paths_on_disk():
    media = SAMPLE_MEDIA / "movies" / "movie_1"
    paths = []
    for playlist in media.rglob("index.m3u8"):
        if playlist.parent == media:
            continue  # the multivariant playlist lists playlists, not segments
        for uri in uris(playlist.read_text()):
            paths.append("/" + str((playlist.parent / uri).relative_to(SAMPLE_MEDIA)))
    return sorted(paths)


def test_ffmpeg_reads_the_whole_movie(stack):
    result, requests = ffmpeg_copy(stack, stack.signurl("1"))
    assert result.returncode == 0, result.stderr
    assert requests, "ffmpeg made no request through the edge"
    assert all(r["status"] in (200, 206) for r in requests), [r for r in requests if r["status"] not in (200, 206)]
    playlists = [r["path"] for r in requests if r["route"] == "rewriter"]
    assert sorted(playlists) == sorted(
        ["/movies/movie_1/index.m3u8", "/movies/movie_1/v0/index.m3u8", "/movies/movie_1/v1/index.m3u8",
         "/movies/movie_1/audio/en/index.m3u8"]
    )
    segments = sorted(r["path"] for r in requests if r["route"] == "media")
    assert segments == segment_paths_on_disk()


def test_chromium_plays_three_seconds_with_hlsjs(stack):
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "demo-page.png"
    result = subprocess.run(
        ["node", str(ROOT / "tests" / "e2e" / "play.mjs"), stack.edge + "/", str(screenshot), "3"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    page = json.loads(result.stdout)
    assert page["state"] == "playing", page
    assert page["currentTime"] >= 3, page
    assert page["url"].startswith(stack.public_url + "/movies/movie_1/index.m3u8?")
    statuses = {r["path"]: r["status"] for r in page["requests"]}
    assert statuses["/content/media/signurl"] == 200
    assert any(p.endswith(".ts") for p in statuses), statuses
    assert all(s in (200, 206) for s in statuses.values()), statuses
    assert screenshot.stat().st_size > 10_000


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.m3u8")))
def test_every_corpus_uri_is_accepted_by_the_edge(cloudfront_stack, name):
    base = cloudfront_stack.signurl("1")
    playlist_url = base.replace("/index.m3u8?", f"/{name}?", 1)
    status, headers, body = cloudfront_stack.get(playlist_url)
    assert status == 200, body
    original = (CORPUS / name).read_text(encoding="utf-8-sig")
    rewritten = body.decode("utf-8-sig")
    before, after = uris(original), uris(rewritten)
    assert len(before) == len(after)
    public_playlist = playlist_url.split("?")[0]
    checked = 0
    for old, new in zip(before, after):
        absolute = urllib.parse.urljoin(public_playlist, new)
        parts = urllib.parse.urlsplit(absolute)
        ours = parts.scheme.lower() in ("http", "https") and parts.hostname == "d111111abcdef8.cloudfront.net" \
            and parts.port in (None, 443)
        if not ours:
            assert new == old, f"foreign or non-HTTP URI changed: {old!r} -> {new!r}"
            continue
        if "Signature=" not in new:
            # Left alone on purpose: outside the viewer's grant (movies/movie_1/*).
            assert new == old and not parts.path.startswith("/movies/movie_1/"), (old, new)
            continue
        method = "GET" if parts.path.endswith(".m3u8") else "HEAD"
        status, headers, _ = cloudfront_stack.get(parts.path + "?" + parts.query, method=method)
        assert status != 403, f"{name}: edge refused {new!r}: {headers.get('x-edge-denied')}"
        checked += 1
    assert checked > 0


def cfsign(*args):
    result = subprocess.run([str(binary("cfsign")), *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def strip(url, names):
    base, query = url.split("?", 1)
    kept = [p for p in query.split("&") if p.split("=", 1)[0] not in names]
    return base + ("?" + "&".join(kept) if kept else "")


def tamper(url, parameter):
    start = url.index(parameter + "=") + len(parameter) + 1 + 20
    return url[:start] + ("A" if url[start] != "A" else "B") + url[start + 1:]


def test_refusals(stack, tmp_path):
    good = stack.signurl("1")
    movie = f"{stack.public_url}/movies/movie_1"
    other_key = FIXTURES / "rsa2048_other.pem"
    expired = cfsign("sign", f"{movie}/index.m3u8", "--key-pair-id", KEY_PAIR_ID, "--private-key",
                     str(FIXTURES / "rsa2048_pkcs1.pem"), "--expires", str(int(time.time()) - 5),
                     "--resource", f"{movie}/*", "--copies", "-PREFIX")
    unknown = cfsign("sign", f"{movie}/v0/seg_000.ts", "--key-pair-id", "KUNKNOWNKEY0001", "--private-key",
                     str(other_key), "--ttl", "600")
    prefixed = [f"{p}-PREFIX" for p in ("Policy", "Signature", "Key-Pair-Id")]
    cases = [
        ("tampered signature", tamper(good, "Signature"), "bad_signature"),
        ("expired", expired, "expired"),
        ("unknown key id", unknown, "unknown_key"),
        ("resource does not cover the path", good.replace("/movie_1/index.m3u8", "/movie_2/index.m3u8"), "resource_mismatch"),
    ]
    for label, url, code in cases:
        status, headers, body = stack.get(url)
        assert status == 403, (label, status, body)
        assert headers.get("x-edge-denied") == code, (label, headers, body)
    # The edge passes these (its own parameters are fine); the rewriter refuses them.
    for label, url, reason in [
        ("prefixed copies removed", strip(good, prefixed), "Policy-PREFIX"),
        ("prefixed copy altered", tamper(good, "Signature-PREFIX"), "signature"),
    ]:
        status, headers, body = stack.get(url)
        assert status == 403 and "x-edge-denied" not in headers, (label, status, headers)
        assert reason in body.decode(), (label, body)
    # Straight to the rewriter's origin, not through the edge, without credentials.
    import urllib.request
    import urllib.error
    try:
        urllib.request.urlopen(stack.info["origins"]["rewriter"] + "/movies/movie_1/index.m3u8", timeout=30)
        pytest.fail("the rewriter served a playlist without credentials")
    except urllib.error.HTTPError as error:
        assert error.code == 403, error.read()


def test_botocore_signed_urls(stack):
    segment = f"{stack.public_url}/movies/movie_1/v0/seg_000.ts"
    signed = generate.CloudFrontSigner(KEY_PAIR_ID, generate.signer_for(generate.load_key("rsa2048_pkcs1.pem"), "sha1"))
    canned = signed.generate_presigned_url(segment, date_less_than=generate.when(int(time.time()) + 600))
    status, _, body = stack.get(canned)
    assert status == 200 and len(body) > 1000
    policy = signed.build_policy("https://d222222abcdef8.cloudfront.net/movies/movie_1/*",
                                 generate.when(int(time.time()) + 600))
    elsewhere = signed.generate_presigned_url(segment, policy=policy)
    status, headers, _ = stack.get(elsewhere)
    assert status == 403 and headers.get("x-edge-denied") == "resource_mismatch"


@pytest.mark.parametrize("key_file,key_id", [("rsa2048_pkcs8.pem", KEY_PAIR_ID), ("ec_p256_sec1.pem", ECDSA_KEY_ID)])
@pytest.mark.parametrize("hash_name", ["sha1", "sha256"])
@pytest.mark.parametrize("custom", [False, True])
def test_the_edge_checks_every_kind_of_signed_url(stack, key_file, key_id, hash_name, custom):
    segment = f"{stack.public_url}/movies/movie_1/v1/seg_001.ts"
    args = ["sign", segment, "--key-pair-id", key_id, "--private-key", str(FIXTURES / key_file), "--ttl", "600",
            "--hash", hash_name]
    if custom:
        args += ["--resource", f"{stack.public_url}/movies/movie_1/*", "--ip", "127.0.0.0/8",
                 "--not-before", str(int(time.time()) - 60)]
    url = cfsign(*args)
    status, _, body = stack.get(url)
    assert status == 200 and len(body) > 1000, (status, body[:200])
    status, headers, _ = stack.get(tamper(url, "Signature"))
    assert status == 403 and headers.get("x-edge-denied") == "bad_signature"


def test_ctrl_c_stops_everything(tmp_path):
    running = Stack(tmp_path, media_folder(tmp_path))
    children = running.children()
    assert len(children) >= 4, "two processes per function"
    assert running.stop() == 0
    assert wait_until(lambda: not any(pid_alive(pid) for pid in children)), "function processes outlived the stack"
