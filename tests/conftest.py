"""Makes tests/support.py and tests/vectors/generate.py importable from every test."""
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
for path in (HERE, HERE / "vectors"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
