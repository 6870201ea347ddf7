# signed-hls: the commands the README promises.
.PHONY: test demo build bench bench-functions load coldstart vectors lint

## Run every test: unit, cross-checks, integration, Terraform static checks.
test:
	scripts/test.sh

## Run the project locally on an embedded default (no AWS account).
demo:
	scripts/demo.sh

## Build the arm64 Lambda zips (target/lambda/<name>/bootstrap.zip).
build:
	scripts/build-lambdas.sh

## Benchmarks (criterion); figures are printed, not asserted.
bench:
	cargo bench --workspace

## The rewriter's warm path through the Runtime API next to its floors (S3 GET, a no-op function), one moto, release builds.
bench-functions:
	scripts/bench-functions.sh $(ARGS)

## A bounded load run against the local stack (loopback only, 30 s), release builds.
load:
	scripts/bootstrap.sh python
	cargo build -q --release --locked -p local-stack -p signurl -p rewriter
	SIGNED_HLS_PROFILE=release .venv/bin/python scripts/load.py --seconds 30

## Cold start of the release binaries: process start to first response (local-stack coldstart), key from Secrets Manager (moto).
coldstart:
	scripts/bootstrap.sh python
	cargo build -q --release --locked -p signurl -p rewriter -p local-stack
	cargo build -q --locked -p cfsign
	.venv/bin/python scripts/coldstart.py --runs 20

## Regenerate the golden vectors with botocore (after changing the test keys).
vectors:
	scripts/bootstrap.sh python
	.venv/bin/python tests/vectors/generate.py --out layers/cloudfront-sign/tests/vectors

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
