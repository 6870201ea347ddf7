"""Live HLS in five real players through the local stack (issue 12):
hls.js (the demo page), Shaka Player and video.js in Debian's headless
Chromium, ffmpeg and GStreamer each play a 32 s VOD sample
(scripts/make-sample.sh) to its end and a live stream (ffmpeg writing a
sliding window in real time) for 30 s of wall time;
hls.js also plays low-latency HLS with blocking playlist reloads.

Each player has its own stack (its own access log) over one media folder.
The browsers' stacks sign URLs that live 12 s, so the pages must refresh
their credential (tools/local-stack/web/refresh.js) at least twice while
they play. Per player the tests check: playback advanced; no request was
refused; every reload of the media playlist reached the edge (none came from
the browser's cache); every segment fetched was listed by some playlist
version the publisher wrote. tests/artifacts/live-players.json has the
figures."""
import base64
import json
import subprocess
import urllib.parse

import pytest
from live import FfmpegLive, LowLatencyLive
from players import BROWSER_PLAYERS, PLAYERS, STATIC, start
from stack import Stack, media_folder
from support import ROOT

LIVE_SECONDS = 30
SHORT_LIVED = ["URL_TTL_SECONDS=12", "EXPIRY_GRANULARITY_SECONDS=0"]
LIVE_MOVIE, LOW_LATENCY_MOVIE, VOD_MOVIE = "9", "8", "7"
VOD_SECONDS = 32
REPORT = ROOT / "tests" / "artifacts" / "live-players.json"
figures = {}


def record(key, **values):
    figures.setdefault(key, {}).update(values)
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(figures, indent=2, sort_keys=True))


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """The small sample, and the same made VOD_SECONDS long as movie VOD_MOVIE."""
    folder = media_folder(tmp_path_factory.mktemp("live-media"))
    subprocess.run([str(ROOT / "scripts" / "make-sample.sh"), str(folder), str(VOD_SECONDS), VOD_MOVIE],
                   check=True, capture_output=True, timeout=120)
    return folder


def listed_segments(media, movie):
    """The paths of every segment the VOD movie's media playlists list."""
    root = media / "movies" / f"movie_{movie}"
    paths = set()
    for playlist in root.glob("*/**/index.m3u8"):
        for line in playlist.read_text().splitlines():
            if line and not line.startswith("#"):
                paths.add("/" + str((playlist.parent / line).relative_to(media)))
    return paths


@pytest.fixture(scope="module")
def stacks(tmp_path_factory, media):
    """One stack per player over the same media; the browsers' URLs live 12 s."""
    running = {}
    try:
        for player in PLAYERS:
            workdir = tmp_path_factory.mktemp(f"stack-{player}")
            env = SHORT_LIVED if player in BROWSER_PLAYERS else []
            running[player] = Stack(workdir, media, env=env, static=STATIC)
        yield running
    finally:
        for stack in running.values():
            stack.stop()


def play_all(stacks, movie, seconds, workdir, mode):
    """Every player at once (each its own process and stack); their results."""
    before = {player: len(stack.access_log()) for player, stack in stacks.items()}
    watches = {player: start(player, stacks[player], movie, seconds, workdir, mode) for player in PLAYERS}
    results = {player: watch.result(timeout=seconds + 90) for player, watch in watches.items()}
    logs = {player: stacks[player].access_log()[before[player]:] for player in PLAYERS}
    return results, logs


def policy_expiry(url):
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    policy = query["Policy"][0].translate(str.maketrans("-_~", "+=/"))
    return json.loads(base64.b64decode(policy))["Statement"][0]["Condition"]["DateLessThan"]["AWS:EpochTime"]


def check_no_refusal(player, log, played):
    refused = [(r["path"], r["status"], r["denied"]) for r in log if r["status"] not in (200, 206)]
    assert not refused, f"{player}: the edge refused {refused}"
    page_refused = [(r["url"].split("?")[0], r["status"], r["failed"]) for r in played.requests
                    if r["status"] not in (None, 200, 206) or (r["failed"] and r["failed"] != "canceled")]
    assert not page_refused, f"{player}: {page_refused}"


def check_browser_reloads(player, playlist, log, played):
    """Every playlist request of the page reached the edge: none came from
    the browser's cache, and the edge saw as many as the page finished (the
    page stopped loading first; one cancelled at the stop may have reached it)."""
    at_page = [r for r in played.requests if urllib.parse.urlsplit(r["url"]).path == playlist]
    cached = [r for r in at_page if r["from_cache"]]
    assert not cached, f"{player}: {len(cached)} of {len(at_page)} playlist reloads came from the browser's cache"
    at_edge = [r for r in log if r["path"] == playlist]
    finished = [r for r in at_page if r["finished"]]
    assert len(finished) <= len(at_edge) <= len(at_page), (player, len(finished), len(at_edge), len(at_page))
    return at_edge


def test_a_vod_sample_plays_to_its_end_in_five_players(stacks, media, tmp_path):
    results, logs = play_all(stacks, VOD_MOVIE, VOD_SECONDS, tmp_path, "vod")
    listed = listed_segments(media, VOD_MOVIE)
    assert len(listed) >= 3 * VOD_SECONDS // 2, listed  # two video renditions and audio, 2 s segments
    for player in PLAYERS:
        played, log = results[player], logs[player]
        # From 0 to the end: the browsers' last position (their samples
        # begin a moment after the start), the others' media time.
        seconds = played.report["demo"].get("currentTime", 0) if player in BROWSER_PLAYERS else played.seconds
        record(player, vod_seconds=round(seconds, 1), vod_wall_seconds=round(played.wall_seconds, 1), vod_state=played.state)
        assert played.state == "ended", (player, played.state, played.report, played.output)
        # The whole movie; a player's first frame may be at 0.04 s.
        assert seconds >= VOD_SECONDS - 0.1, (player, seconds, played.output)
        # Played at the pace of playback: at least 30 s of wall time.
        assert played.wall_seconds >= 30, (player, played.wall_seconds)
        check_no_refusal(player, log, played)
        fetched = {r["path"] for r in log if r["path"].endswith(".ts")}
        assert fetched, (player, log)
        assert fetched <= listed, (player, sorted(fetched - listed))


@pytest.fixture(scope="module")
def live_run(stacks, media, tmp_path_factory):
    """All five players on one live stream at once, for LIVE_SECONDS each."""
    workdir = tmp_path_factory.mktemp("live")
    feed = FfmpegLive(media, LIVE_MOVIE, workdir / "publisher.log")
    try:
        # Players join a stream with history: four 2 s segments.
        feed.wait_for_segments(4)
        results, logs = play_all(stacks, LIVE_MOVIE, LIVE_SECONDS, workdir, "live")
    finally:
        feed.stop()
    return feed, results, logs


@pytest.mark.parametrize("player", PLAYERS)
def test_a_live_stream_plays_thirty_seconds(live_run, player):
    feed, results, logs = live_run
    played, log = results[player], logs[player]
    playlist = f"/movies/movie_{LIVE_MOVIE}/index.m3u8"
    at_edge = [r for r in log if r["path"] == playlist]
    record(player, live_seconds=round(played.seconds, 1), live_reloads_at_edge=len(at_edge),
           live_refused=sum(r["status"] not in (200, 206) for r in log))
    assert played.state in ("playing", "ended", "stopped"), (player, played.state, played.report, played.output)
    check_no_refusal(player, log, played)
    # Playback advanced through the whole run, at the pace of the clock.
    assert played.seconds >= LIVE_SECONDS - 1, (player, played.seconds, played.samples, played.output)
    playing = [(at, t) for at, t in played.samples if t > 0]
    stalled = sum(b - a for (a, ta), (b, tb) in zip(playing, playing[1:]) if tb <= ta)
    assert stalled < 2, (player, stalled, played.samples)
    # A live player reloads about once per target duration (2 s).
    assert len(at_edge) >= LIVE_SECONDS / 2 / 2, (player, len(at_edge))
    # The live playlist is kept for at most half a target duration.
    assert {r["cache_control"] for r in at_edge} == {"max-age=1"}, (player, {r["cache_control"] for r in at_edge})
    if player in BROWSER_PLAYERS:
        check_browser_reloads(player, playlist, log, played)
        fetched = {urllib.parse.urlsplit(r["url"]).path for r in played.requests}
        fetched = {p for p in fetched if p.startswith(feed.path_prefix) and not p.endswith(".m3u8")}
        # Playing 30 s across credentials that live 12 s: at least two
        # refreshes, and requests made with at least three credentials.
        credentials = {policy_expiry(r["url"]) for r in played.requests if "Policy=" in r["url"]}
        record(player, live_refreshes=played.report["demo"].get("refreshes"), live_credentials=len(credentials))
        assert played.report["demo"]["refreshes"] >= 2, (player, played.report["demo"])
        assert len(credentials) >= 3, (player, credentials)
    else:
        if player == "ffmpeg":
            # ffmpeg names the URLs it opens: each playlist load it names
            # reached the edge (it names all but its first probe).
            opened = [u for u in played.report["opened"] if u.endswith("/index.m3u8")]
            assert len(opened) <= len(at_edge) <= len(opened) + 1, (len(opened), len(at_edge))
        fetched = {r["path"] for r in log if r["path"].startswith(feed.path_prefix) and not r["path"].endswith(".m3u8")}
    assert fetched, (player, log)
    unlisted = fetched - feed.listed_paths()
    assert not unlisted, f"{player} fetched segments no playlist listed: {sorted(unlisted)}"


def test_the_edge_forwards_delivery_directives_to_the_rewriter(stacks, media, tmp_path):
    """A blocking reload too far ahead is the rewriter's 400: the edge passed
    `_HLS_msn` on (and logged it); `_HLS_skip` is forwarded and ignored."""
    feed = LowLatencyLive(media, "7", tmp_path, seconds=8, history_segments=2)
    feed.start()
    try:
        stack = stacks["ffmpeg"]
        url = stack.signurl("7")
        status, _, body = stack.get(url + "&_HLS_msn=99&_HLS_part=0")
        assert status == 400, (status, body)
        status, _, body = stack.get(url + "&_HLS_skip=YES")
        assert status == 200 and b"#EXT-X-PART:" in body, (status, body[:200])
        logged = stack.access_log()[-2:]
        assert [r["hls"] for r in logged] == [{"_HLS_msn": "99", "_HLS_part": "0"}, {"_HLS_skip": "YES"}]
        assert "Policy" not in json.dumps(logged) and "Signature" not in json.dumps(logged)
    finally:
        feed.stop()


def test_low_latency_hls_plays_in_hlsjs_with_blocking_reloads(media, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("low-latency")
    feed = LowLatencyLive(media, LOW_LATENCY_MOVIE, workdir)
    stack = Stack(workdir, media, static=STATIC)
    try:
        feed.start()
        played = start("hlsjs", stack, LOW_LATENCY_MOVIE, LIVE_SECONDS, workdir, "live").result(LIVE_SECONDS + 90)
        log = stack.access_log()
    finally:
        feed.stop()
        stack.stop()
    playlist = f"/movies/movie_{LOW_LATENCY_MOVIE}/index.m3u8"
    assert played.state == "playing", (played.state, played.report, played.output)
    check_no_refusal("hlsjs", log, played)
    assert played.seconds >= LIVE_SECONDS - 1, (played.seconds, played.samples, played.report)
    at_edge = check_browser_reloads("hlsjs", playlist, log, played)
    blocking = [r for r in at_edge if "_HLS_msn" in r["hls"] and "_HLS_part" in r["hls"]]
    # One blocking reload per part (0.5 s) while playing.
    assert len(blocking) >= LIVE_SECONDS * 1.5, len(blocking)
    assert {r["cache_control"] for r in at_edge} == {"max-age=0"}
    # A reload that arrived before its part was published was held until
    # then, and answered soon after.
    held, extra_ms = 0, []
    for request in blocking:
        part = (int(request["hls"]["_HLS_msn"]), int(request["hls"]["_HLS_part"]))
        published_ms = feed.published[part] * 1000
        answered_ms = request["arrived_ms"] + request["ms"]
        assert answered_ms >= published_ms - 5, (request, published_ms)
        if request["arrived_ms"] < published_ms - 50:
            held += 1
            extra_ms.append(answered_ms - published_ms)
    extra_ms.sort()
    median = extra_ms[len(extra_ms) // 2] if extra_ms else None
    record("hlsjs", low_latency_seconds=round(played.seconds, 1), low_latency_blocking_reloads=len(blocking),
           low_latency_held=held, low_latency_extra_ms_median=median and round(median),
           low_latency_extra_ms_max=extra_ms and round(extra_ms[-1]))
    assert held >= len(blocking) / 2, (held, len(blocking))
    # The rewriter reads the playlist again every 100 ms (BLOCKING_RELOAD_POLL_MS).
    assert median < 400, extra_ms
    fetched = {urllib.parse.urlsplit(r["url"]).path for r in played.requests}
    fetched = {p for p in fetched if p.startswith(feed.path_prefix) and not p.endswith(".m3u8")}
    assert any(p.endswith(".0.m4s") for p in fetched), fetched
    unlisted = fetched - feed.listed_paths()
    assert not unlisted, sorted(unlisted)
