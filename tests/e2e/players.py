"""Five real players against a local stack, each started as a process and
measured from its own output: hls.js (the demo page), Shaka Player and
video.js (tests/e2e/web/players.html) in Debian's headless Chromium, driven by
watch.mjs; ffmpeg; GStreamer (playbin, whose HLS demuxer is hlsdemux2 from
gstreamer1.0-plugins-good, or hlsdemux from -bad).

`start(player, stack, movie, seconds, workdir, mode)` returns a running
`Watch`; `Watch.result()` waits for it and returns a `Played`."""
import dataclasses
import json
import re
import signal
import subprocess
import time

from support import ROOT

E2E = ROOT / "tests" / "e2e"
NODE_MODULES = E2E / "node_modules"
BROWSER_PLAYERS = ("hlsjs", "shaka", "videojs")
PLAYERS = BROWSER_PLAYERS + ("ffmpeg", "gstreamer")

# What the edge serves besides the demo page, for the harness page.
STATIC = [
    ("/players.html", E2E / "web" / "players.html"),
    ("/vendor/shaka-player.compiled.js", NODE_MODULES / "shaka-player" / "dist" / "shaka-player.compiled.js"),
    ("/vendor/video.min.js", NODE_MODULES / "video.js" / "dist" / "video.min.js"),
]


@dataclasses.dataclass
class Played:
    player: str
    seconds: float  # media time played
    wall_seconds: float  # wall time it took
    samples: list  # (epoch seconds, media position)
    state: str  # "playing" (or "ended") when all went well
    requests: list  # browsers: every request as Chromium saw it
    report: dict  # the rest of what the player said
    output: str  # its stderr, for failure messages


class Watch:
    def __init__(self, player, process, parse, started, log_path, out_path):
        self.player, self.process, self.parse, self.started = player, process, parse, started
        self.log_path, self.out_path = log_path, out_path

    def result(self, timeout):
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        stdout = self.out_path.read_text(errors="replace")
        output = self.log_path.read_text(errors="replace")
        played = self.parse(stdout, output, self.started)
        if not played.wall_seconds:
            # A player that prints no clock (gst-launch): from its start to
            # its last line of output (written line by line as it plays).
            played.wall_seconds = self.out_path.stat().st_mtime - self.started
        played.output = output[-4000:]  # for failure messages
        return played


def start(player, stack, movie, seconds, workdir, mode):
    """Starts `player` on the movie through `stack`; `mode` is "live"
    (`seconds` of wall time once playing) or "vod" (to the end)."""
    log_path = workdir / f"{player}-{mode}-{movie}.log"
    log = open(log_path, "wb")
    # Files, not pipes: a player must never block on a full pipe while the
    # others are being waited for.
    out_path = workdir / f"{player}-{mode}-{movie}.out"
    out = open(out_path, "wb")
    started = time.time()
    if player in BROWSER_PLAYERS:
        page = f"/?movie={movie}" if player == "hlsjs" else f"/players.html?player={player}&movie={movie}"
        screenshot = ROOT / "tests" / "artifacts" / f"{player}-{mode}.png"
        screenshot.parent.mkdir(exist_ok=True)
        process = subprocess.Popen(["node", str(E2E / "watch.mjs"), stack.edge + page, str(screenshot), str(seconds), mode],
                                   stdout=out, stderr=log)
        return Watch(player, process, lambda out, err, t0: browser_result(player, out, err, t0), started, log_path, out_path)
    url = stack.signurl(movie)
    if player == "ffmpeg":
        # -re: read at the pace of playback, as a player does; decode to nothing.
        limit = ["-t", str(seconds)] if mode == "live" else []
        process = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "verbose", "-nostdin", "-re", "-i", url, "-map", "0:v",
             *limit, "-f", "null", "-", "-progress", "pipe:1", "-stats_period", "0.5", "-nostats"],
            stdout=out, stderr=log)
        return Watch(player, process, ffmpeg_result, started, log_path, out_path)
    if player == "gstreamer":
        sink = "fakesink name=videosink sync=true silent=false"
        process = subprocess.Popen(
            # stdbuf: each buffer's line reaches us even if gst-launch is killed.
            ["stdbuf", "-oL", "gst-launch-1.0", "-v", "-e", "playbin", f'uri="{url}"', f"video-sink={sink}",
             # One rendition: hlsdemux (-bad) sometimes cannot tell the type
             # of the first segment after a switch to the other rendition of
             # the sample ("Could not determine type of stream"): a demuxer
             # weakness, not ours. 300 kbit/s selects v0 (260 kbit/s) only.
             "audio-sink=fakesink sync=true", "flags=0x3", "connection-speed=300"],
            stdout=out, stderr=log, start_new_session=True)
        watch = Watch(player, process, gstreamer_result, started, log_path, out_path)
        if mode == "live":
            # gst-launch plays a live stream until stopped: an interrupt after
            # the wall time (and start-up), a kill if it lingers.
            def interrupt():
                if process.poll() is None:
                    process.send_signal(signal.SIGINT)
                    _timer(3, process.kill)
            watch.timer = _timer(seconds + 5, interrupt)
        return watch
    raise ValueError(player)


def _timer(delay, action):
    import threading
    timer = threading.Timer(delay, action)
    timer.daemon = True
    timer.start()
    return timer


def browser_result(player, stdout, output, started):
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        return Played(player, 0, 0, [], "no report", [], {}, output)
    samples = [(s["at_ms"] / 1000, s["time"]) for s in report["samples"]]
    playing = [(at, t) for at, t in samples if t > 0]
    seconds = playing[-1][1] - playing[0][1] if playing else 0
    wall = playing[-1][0] - playing[0][0] if playing else 0
    demo = report.get("demo", {})
    state = "ended" if demo.get("ended") else demo.get("state", "none")
    return Played(player, seconds, wall, samples, state, report["requests"],
                  {k: v for k, v in report.items() if k not in ("samples", "requests")}, output)


def ffmpeg_result(stdout, output, started):
    samples = []
    now = started
    for line in stdout.splitlines():
        key, _, value = line.partition("=")
        if key == "out_time_us" and value.strip().lstrip("-").isdigit():
            samples.append([None, int(value) / 1e6])
        elif key == "progress":
            # One block every 0.5 s of wall time.
            now += 0.5
            if samples and samples[-1][0] is None:
                samples[-1][0] = now
    samples = [(at, t) for at, t in samples if at is not None]
    playing = [(at, t) for at, t in samples if t > 0]
    seconds = playing[-1][1] if playing else 0
    wall = playing[-1][0] - playing[0][0] if playing else 0
    # ffmpeg says each URL it opens (the first playlist load as its input),
    # the playlist reloads among them.
    opened = re.findall(r"(?:Opening '|Input #0, hls, from ')([^']*)'", output)
    state = "ended" if "progress=end" in stdout else "stopped"
    return Played("ffmpeg", seconds, wall, samples, state, [],
                  {"opened": [u.split("?", 1)[0] for u in opened]}, output)


PTS = re.compile(r"videosink.*last-message = chain.*?pts: (\d+):(\d\d):(\d\d\.\d+)")


def gstreamer_result(stdout, output, started):
    times = [int(h) * 3600 + int(m) * 60 + float(s) for h, m, s in PTS.findall(stdout)]
    seconds = max(times) - min(times) if times else 0
    demuxers = sorted(set(re.findall(r"Gst(HLSDemux2?)", stdout + output)))
    state = "ended" if "Got EOS from element" in stdout + output else "stopped"
    return Played("gstreamer", seconds, 0, [], state, [], {"demuxers": demuxers, "frames": len(times)}, output)
