"""Live streams for the end-to-end tests, written into a media folder that a
local stack serves, in real time:

- `FfmpegLive`: ffmpeg encodes a test pattern with `-re` into a sliding-window
  playlist (`delete_segments+temp_file`: the playlist is replaced atomically);
- `LowLatencyLive`: low-latency HLS on a clock: fMP4 parts made beforehand
  by ffmpeg, published one per part duration, the playlist written to a
  temporary file and renamed.

Both remember every playlist version that was published, so that a test can
check that a player fetched only segments some version listed."""
import datetime
import os
import pathlib
import re
import subprocess
import threading
import time

URI_ATTRIBUTE = re.compile(r'URI="([^"]*)"')


def listed_uris(playlist: str):
    """The URIs a playlist lists: segment lines and URI attributes."""
    found = set()
    for line in playlist.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            found.update(URI_ATTRIBUTE.findall(line))
        else:
            found.add(line)
    return found


def write_atomically(path: pathlib.Path, data: bytes):
    """Readers see the old file or the new one, never a part of it."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


class FfmpegLive:
    """ffmpeg writing `movies/movie_<movie>/index.m3u8` live: 2 s MPEG-TS
    segments (a keyframe every segment), six in the window."""

    SEGMENT_SECONDS = 2

    def __init__(self, media: pathlib.Path, movie: str, log: pathlib.Path):
        self.folder = media / "movies" / f"movie_{movie}"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.playlist = self.folder / "index.m3u8"
        self.path_prefix = f"/movies/movie_{movie}/"
        self.versions = {}  # playlist text -> when it was first seen
        self.log = open(log, "wb")
        fps = 25
        self.process = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "warning", "-nostdin",
             "-re", "-f", "lavfi", "-i", f"testsrc2=size=320x180:rate={fps}",
             "-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
             "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
             "-g", str(fps * self.SEGMENT_SECONDS), "-keyint_min", str(fps * self.SEGMENT_SECONDS),
             "-sc_threshold", "0", "-b:v", "200k", "-c:a", "aac", "-b:a", "64k", "-ac", "2",
             "-f", "hls", "-hls_time", str(self.SEGMENT_SECONDS), "-hls_list_size", "6",
             "-hls_flags", "delete_segments+temp_file+independent_segments",
             "-hls_segment_filename", str(self.folder / "seg_%05d.ts"), str(self.playlist)],
            stdout=subprocess.DEVNULL, stderr=self.log,
        )
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def _watch(self):
        # ffmpeg renames each version into place; 50 ms polls see every one
        # of them (a version lives a whole segment, 2 s).
        while not self._stop.is_set():
            try:
                text = self.playlist.read_text()
            except FileNotFoundError:
                text = None
            if text and text not in self.versions:
                self.versions[text] = time.time()
            self._stop.wait(0.05)

    def segments(self):
        """How many segments the newest version lists."""
        newest = max(self.versions, key=self.versions.get, default="")
        return sum(1 for uri in listed_uris(newest) if uri.endswith(".ts"))

    def wait_for_segments(self, count, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ffmpeg exited with {self.process.returncode}: see {self.log.name}")
            if self.segments() >= count:
                return
            time.sleep(0.1)
        raise RuntimeError(f"ffmpeg did not publish {count} segments in {timeout} s")

    def listed_paths(self):
        """Every path (as the edge sees it) that some published version listed."""
        return {self.path_prefix + uri for text in list(self.versions) for uri in listed_uris(text)}

    def stop(self):
        self._stop.set()
        self._watcher.join()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class LowLatencyLive:
    """Low-latency HLS in `movies/movie_<movie>/`: 0.5 s fMP4 parts (each
    starts with a keyframe), four to a 2 s segment, published on a clock;
    the playlist offers blocking reloads (CAN-BLOCK-RELOAD=YES), lists the
    parts of its last three segments and of the segment being written.

    `published[(msn, part)]` is when that part appeared in the playlist
    (epoch seconds): part 3 of a segment appears with the whole segment."""

    PART_SECONDS = 0.5
    PARTS_PER_SEGMENT = 4
    WINDOW = 6
    PART_HOLD_BACK = 1.5

    def __init__(self, media: pathlib.Path, movie: str, workdir: pathlib.Path, seconds=75, history_segments=3):
        self.folder = media / "movies" / f"movie_{movie}"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.playlist = self.folder / "index.m3u8"
        self.path_prefix = f"/movies/movie_{movie}/"
        self.parts = self._encode(workdir / f"ll-source-{movie}", seconds)
        self.versions = []  # (epoch seconds, playlist text)
        self.published = {}
        self._history = history_segments * self.PARTS_PER_SEGMENT
        self._stop = threading.Event()
        self._thread = None
        self.epoch = time.time() - self._history * self.PART_SECONDS

    def _encode(self, source: pathlib.Path, seconds):
        """The parts, as bytes, made by ffmpeg's HLS muxer in fMP4 mode (one
        0.5 s fragment per file, a keyframe at the start of each), and the
        init section written into the movie's folder."""
        source.mkdir(parents=True, exist_ok=True)
        fps = 20
        frames = int(fps * self.PART_SECONDS)
        subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
             "-f", "lavfi", "-i", f"testsrc2=size=320x180:rate={fps}", "-t", str(seconds),
             "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
             "-g", str(frames), "-keyint_min", str(frames), "-sc_threshold", "0", "-b:v", "200k",
             "-f", "hls", "-hls_time", str(self.PART_SECONDS), "-hls_playlist_type", "vod",
             "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
             "-hls_segment_filename", str(source / "p%05d.m4s"), str(source / "parts.m3u8")],
            check=True, capture_output=True, timeout=120,
        )
        text = (source / "parts.m3u8").read_text()
        durations = [float(d) for d in re.findall(r"#EXTINF:([0-9.]+),", text)]
        files = [line for line in text.splitlines() if line.endswith(".m4s")]
        # Every part must last one part duration: the playlist says so.
        assert files and all(abs(d - self.PART_SECONDS) < 0.01 for d in durations[:-1]), durations
        write_atomically(self.folder / "init.mp4", (source / "init.mp4").read_bytes())
        whole = len(files) // self.PARTS_PER_SEGMENT * self.PARTS_PER_SEGMENT
        return [(source / name).read_bytes() for name in files[:whole]]

    @staticmethod
    def part_name(msn, part):
        return f"s{msn:05d}.{part}.m4s"

    @staticmethod
    def segment_name(msn):
        return f"s{msn:05d}.m4s"

    def render(self, count):
        """The playlist once `count` parts are out."""
        per = self.PARTS_PER_SEGMENT
        complete, trailing = divmod(count, per)
        first = max(0, complete - self.WINDOW)
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:9",
            f"#EXT-X-TARGETDURATION:{int(self.PART_SECONDS * per)}",
            f"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={self.PART_HOLD_BACK}",
            f"#EXT-X-PART-INF:PART-TARGET={self.PART_SECONDS}",
            f"#EXT-X-MEDIA-SEQUENCE:{first}",
            '#EXT-X-MAP:URI="init.mp4"',
        ]
        # Players align successive versions of a sliding window by program
        # date-time (Apple's LL-HLS rules require it): media time 0 is `epoch`.
        start = datetime.datetime.fromtimestamp(self.epoch + first * self.PART_SECONDS * per, datetime.timezone.utc)
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{start.isoformat(timespec='milliseconds')}")
        part_line = lambda msn, part: (  # noqa: E731
            f'#EXT-X-PART:DURATION={self.PART_SECONDS:.3f},URI="{self.part_name(msn, part)}",INDEPENDENT=YES')
        for msn in range(first, complete):
            if msn >= complete - 3:
                lines += [part_line(msn, part) for part in range(per)]
            lines += [f"#EXTINF:{self.PART_SECONDS * per:.3f},", self.segment_name(msn)]
        lines += [part_line(complete, part) for part in range(trailing)]
        # The part being written: players ask for the playlist that lists it
        # (a blocking reload) rather than for the part itself.
        lines.append(f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="{self.part_name(complete, trailing)}"')
        return "\n".join(lines) + "\n"

    def publish(self, index):
        """Part `index` (counted from the first) and the playlist that lists it."""
        msn, part = divmod(index, self.PARTS_PER_SEGMENT)
        write_atomically(self.folder / self.part_name(msn, part), self.parts[index])
        if part == self.PARTS_PER_SEGMENT - 1:
            whole = b"".join(self.parts[index - part:index + 1])
            write_atomically(self.folder / self.segment_name(msn), whole)
        text = self.render(index + 1)
        write_atomically(self.playlist, text.encode())
        now = time.time()
        self.published[(msn, part)] = now
        self.versions.append((now, text))

    def start(self):
        """Publishes the history at once, then one part per part duration."""
        for index in range(self._history):
            self.publish(index)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        started = time.monotonic()
        for index in range(self._history, len(self.parts)):
            due = started + (index - self._history + 1) * self.PART_SECONDS
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            self.publish(index)

    def listed_paths(self):
        return {self.path_prefix + uri for _, text in self.versions for uri in listed_uris(text)}

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join()
