"""Starts and stops the local stack (target/debug/local-stack) for the
end-to-end tests, and talks to its edge over loopback HTTP."""
import json
import os
import pathlib
import select
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request

from support import FIXTURES, ROOT, binary

KEY_PAIR_ID = "K2JCJMDEHXQW5F"
PRIVATE_KEY = FIXTURES / "rsa2048_pkcs1.pem"
HLS_JS = ROOT / "tools" / "local-stack" / "web" / "node_modules" / "hls.js" / "dist" / "hls.min.js"
SAMPLE_MEDIA = ROOT / "tests" / "fixtures" / "media"


class Stack:
    """One running local stack: edge, both functions, S3 API over `media`."""

    def __init__(self, workdir: pathlib.Path, media: pathlib.Path, public_url=None, env=(), trust=(), auth=None,
                 instances=None, kms=None, static=()):
        """`kms`: (key id, endpoint) to sign with that KMS key instead of the dev key file;
        `static`: (path, file) pairs the edge serves (--static)."""
        self.workdir = workdir
        self.access_log_path = workdir / "access.log"
        self.stderr_path = workdir / "stack.stderr"
        key = ["--private-key", str(PRIVATE_KEY)] if kms is None else ["--kms-key-id", kms[0], "--kms-endpoint", kms[1]]
        args = [
            str(binary("local-stack")), "--port", "0", "--media", str(media), *key, "--key-pair-id", KEY_PAIR_ID,
            "--access-log", str(self.access_log_path), "--hls-js", str(HLS_JS),
            "--state-dir", str(workdir / "state"),
        ]
        if public_url:
            args += ["--public-url", public_url]
        for item in env:
            args += ["--env", item]
        for item in trust:
            args += ["--trust", item]
        if auth:
            args += ["--auth", auth]
        if instances:
            args += ["--instances", str(instances)]
        for path, file in static:
            args += ["--static", f"{path}={file}"]
        self.stderr = open(self.stderr_path, "wb")
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.stderr, cwd=ROOT)
        ready, _, _ = select.select([self.process.stdout], [], [], 60)
        line = self.process.stdout.readline() if ready else b""
        if not line:
            self.process.kill()
            raise RuntimeError(f"local-stack did not start:\n{self.stderr_path.read_text()[-3000:]}")
        self.info = json.loads(line)["ready"]
        self.edge = self.info["edge"]
        self.public_url = self.info["public_url"]

    def get(self, path_or_url, method="GET", headers=None):
        """(status, headers, body) of a request to the edge; a full URL is
        sent to the edge with its path and query."""
        url = path_or_url
        if url.startswith(self.public_url):
            url = url[len(self.public_url):]
        if not url.startswith("http"):
            url = self.edge + url
        request = urllib.request.Request(url, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def signurl(self, movie="1"):
        status, _, body = self.get(f"/content/media/signurl?movie={movie}")
        assert status == 200, body
        return json.loads(body)["url"]

    def access_log(self):
        if not self.access_log_path.exists():
            return []
        return [json.loads(line) for line in self.access_log_path.read_text().splitlines() if line]

    def children(self):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True)
        return [int(pid) for pid in out.stdout.split()]

    def stop(self, timeout=15):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.stderr.close()
        return self.process.returncode


def media_folder(workdir: pathlib.Path, extra=()):
    """A fresh media folder with the sample movie, plus (name, bytes) files in movies/movie_1/."""
    media = workdir / "media"
    shutil.copytree(SAMPLE_MEDIA, media)
    for name, data in extra:
        (media / "movies" / "movie_1" / name).write_bytes(data)
    return media


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def ffmpeg_copy(stack, url, timeout=120):
    """ffmpeg reads every stream of `url` through the stack's edge (copied to
    nothing); (its completed process, the edge's log lines of its requests)."""
    before = len(stack.access_log())
    result = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", url, "-map", "0", "-c", "copy", "-f", "null", "-"],
        capture_output=True, text=True, timeout=timeout,
    )
    return result, stack.access_log()[before:]
