#!/usr/bin/env python3
"""Cold start of the real function binaries, measured the way Lambda sees it:
from process start to the first response posted to the Runtime API, with the
signing key fetched from Secrets Manager (moto's server) and parsed.

    .venv/bin/python scripts/coldstart.py [--runs 20] [--profile release]

Needs `cargo build --release -p signurl -p rewriter -p local-stack` and
`cargo build -p cfsign` (make coldstart does it). This script prepares moto,
the events and the environment; `local-stack coldstart` starts the processes
behind its Runtime API and times them. Prints the median and p90 per
function, and a warm invocation for contrast.
"""
import argparse
import json
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests")]
from support import FIXTURES, TARGET  # noqa: E402

KEY_ID = "K2JCJMDEHXQW5F"
CF = "https://d111111abcdef8.cloudfront.net"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def event(path, query=""):
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": {"host": "d111111abcdef8.cloudfront.net"},
        "queryStringParameters": dict(p.split("=", 1) for p in query.split("&") if "=" in p) or None,
        "requestContext": {"accountId": "anonymous", "apiId": "bench", "domainName": "bench", "domainPrefix": "bench",
                           "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                                    "userAgent": "bench"},
                           "requestId": "bench", "routeKey": "$default", "stage": "$default", "time": "",
                           "timeEpoch": 0},
        "isBase64Encoded": False,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--profile", default="release")
    parser.add_argument("--cert-file", help="SSL_CERT_FILE for the functions (e.g. one CA bundle, as on "
                        "provided.al2023, instead of Debian's /etc/ssl/certs of ~290 files)")
    parser.add_argument("--source", choices=["secretsmanager", "file"], default="secretsmanager",
                        help="where the key comes from (file: SIGNING_KEY_FILE, to see the SDK's share)")
    args = parser.parse_args()

    moto_port = free_port()
    moto = subprocess.Popen([str(ROOT / ".venv" / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{moto_port}"
    try:
        import boto3
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", moto_port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        session = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1")
        secret = json.dumps({"key_pair_id": KEY_ID, "private_key": (FIXTURES / "rsa2048_pkcs1.pem").read_text(),
                             "cf_url": CF})
        arn = session.client("secretsmanager", endpoint_url=endpoint).create_secret(
            Name=f"bench-{time.time_ns()}", SecretString=secret)["ARN"]
        s3 = session.client("s3", endpoint_url=endpoint)
        s3.create_bucket(Bucket="bench")
        s3.put_object(Bucket="bench", Key="movies/movie_1/index.m3u8",
                      Body=b"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nseg1.ts\n#EXT-X-ENDLIST\n")

        env = {"PATH": "/usr/bin:/bin", "SM_SECRET_NAME": arn, "AWS_ENDPOINT_URL": endpoint,
               "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
               "S3_BUCKET": "bench", "AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "WARN"}
        if args.cert_file:
            env["SSL_CERT_FILE"] = args.cert_file
        workdir = pathlib.Path(tempfile.mkdtemp())
        if args.source == "file":
            key_file = workdir / "secret.json"
            key_file.write_text(secret)
            del env["SM_SECRET_NAME"]
            env["SIGNING_KEY_FILE"] = str(key_file)
        local_stack = TARGET / args.profile / "local-stack"
        if not local_stack.exists():
            sys.exit(f"{local_stack} is missing: cargo build --{args.profile} -p local-stack")
        for name in ("signurl", "rewriter"):
            binary = TARGET / args.profile / name
            if not binary.exists():
                sys.exit(f"{binary} is missing: cargo build --{args.profile} -p {name}")
            if name == "signurl":
                request = event("/content/media/signurl", "movie=1")
            else:  # the rewriter needs a valid prefixed credential (valid 600 s: longer than the runs)
                signed = subprocess.run(
                    [str(TARGET / "debug" / "cfsign"), "sign", f"{CF}/movies/movie_1/index.m3u8",
                     "--key-pair-id", KEY_ID, "--private-key", str(FIXTURES / "rsa2048_pkcs1.pem"), "--ttl", "600",
                     "--resource", f"{CF}/movies/movie_1/*", "--copies", "-PREFIX"],
                    capture_output=True, text=True, check=True).stdout.strip()
                query = "&".join(p for p in signed.split("?", 1)[1].split("&") if "-PREFIX=" in p)
                request = event("/movies/movie_1/index.m3u8", query)
            event_file = workdir / f"{name}.json"
            event_file.write_text(json.dumps(request))
            command = [str(local_stack), "coldstart", "--binary", str(binary), "--event", str(event_file),
                       "--runs", str(args.runs), "--json"]
            for item in env.items():
                command += ["--env", "=".join(item)]
            result = json.loads(subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True).stdout)
            cold, warm = result["cold_ms"], result["warm_ms"]
            print(f"{name:8} cold start (spawn to first response, key from {args.source}): "
                  f"median {cold['median']:6.2f} ms  p90 {cold['p90']:6.2f} ms  "
                  f"(next warm invocation {warm['median']:5.2f} ms) over {result['runs']} runs")
    finally:
        moto.kill()
        moto.wait()


if __name__ == "__main__":
    main()
