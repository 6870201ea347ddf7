"""make build produces the zips terraform/ deploys: one `bootstrap` each, an
aarch64 Linux executable, for provided.al2023 on arm64."""
import re
import stat
import struct
import subprocess
import zipfile

import pytest
from support import ROOT, TARGET

FUNCTIONS = ["signurl", "rewriter"]
EM_AARCH64 = 183


@pytest.fixture(scope="module")
def zips():
    result = subprocess.run([str(ROOT / "scripts" / "build-lambdas.sh")], capture_output=True, text=True,
                            timeout=3600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-4000:]
    built = [ROOT / path for path in result.stdout.split()]
    assert built == [TARGET / "lambda" / name / "bootstrap.zip" for name in FUNCTIONS]
    return dict(zip(FUNCTIONS, built))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_zip_holds_an_aarch64_bootstrap(zips, name):
    with zipfile.ZipFile(zips[name]) as archive:
        assert archive.namelist() == ["bootstrap"]
        info = archive.getinfo("bootstrap")
        mode = info.external_attr >> 16
        assert mode & stat.S_IXUSR, f"bootstrap is not executable (mode {oct(mode)})"
        header = archive.read("bootstrap")[:64]
    assert header[:4] == b"\x7fELF", "not an ELF executable"
    assert header[4] == 2, "not a 64-bit ELF"
    assert header[5] == 1, "not little-endian"
    (machine,) = struct.unpack_from("<H", header, 18)
    assert machine == EM_AARCH64, f"e_machine {machine}, expected aarch64 ({EM_AARCH64})"


def test_terraform_deploys_these_zips_on_arm64():
    lambda_tf = (ROOT / "terraform" / "lambda.tf").read_text()
    assert re.search(r'architectures\s*=\s*\["arm64"\]', lambda_tf), "terraform must deploy arm64, as built"
    assert re.search(r'runtime\s*=\s*"provided\.al2023"', lambda_tf)
    assert re.search(r'filename\s*=\s*"\$\{local\.zip_dir\}/\$\{each\.key\}/bootstrap\.zip"', lambda_tf)
