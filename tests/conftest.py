"""Makes tests/support.py and tests/vectors/generate.py importable from every
test, and holds the fixtures several test folders share."""
import pathlib
import socket
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
for path in (HERE, HERE / "vectors"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


@pytest.fixture(scope="module")
def moto_endpoint():
    """moto's server (S3, Secrets Manager, KMS) on a free loopback port, for one module."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()
