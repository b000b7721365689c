"""Build an offline bundle of EvoSAM Annotator: a wheelhouse with every dependency, the
project's own wheel, the install script, a manifest and a README.

Run through ``installer/build_bundle.sh`` (it uses the project venv). Two ways to fill the wheelhouse:

* default: ``pip download`` on this connected machine. torch and torchvision come from local
  sources only (pip's find-links and ``file://`` indexes, plus ``--torch-index`` if given):
  the CPU build by default, the CUDA build with ``--cuda``; without a local CPU build the
  CUDA build is taken (it runs on the CPU too) and the reason is printed. Other packages are
  looked up in local indexes first, then the configured remote index.
* ``--from-installed`` (fast, no network): every installed distribution the project needs,
  written back as a wheel (``repack.py``); ``--without-torch`` leaves out torch and what
  only it needs (the target provides torch; CI uses this).

The bundle targets this machine's OS, CPU architecture and Python minor version.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from packaging.utils import parse_wheel_filename

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PROJECT = "evosam-annotator"
EXTRAS = ("batch",)  # optional features the bundle carries: Ray for `evosam batch`
SOURCE_ITEMS = ("pyproject.toml", "README.md", "evosam", "app", "assets")
NOISE = ("is ignored: it is neither a file nor a directory",)


class BundleError(Exception):
    """A problem the user can fix; printed as one line."""


def log(msg: str) -> None:
    print(f"[bundle] {msg}", flush=True)


def torch_pins() -> dict[str, str]:
    """The torch/torchvision pins of ``installer/setup_env.sh`` (one source of truth)."""
    text = (HERE / "setup_env.sh").read_text()
    found = re.search(r'^TORCH_PINS="([^"]+)"', text, re.M)
    if not found:
        raise BundleError("installer/setup_env.sh has no TORCH_PINS line")
    return dict(pin.split("==") for pin in found.group(1).split())


def pip(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run this interpreter's pip, echoing its output without pip's find-links noise."""
    cmd = [sys.executable, "-m", "pip", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in (proc.stdout + proc.stderr).splitlines():
        if line.strip() and not any(n in line for n in NOISE):
            print(f"    {line}", flush=True)
    if check and proc.returncode != 0:
        raise BundleError(f"pip {args[0]} failed (exit {proc.returncode}); see its output above")
    return proc


def pip_sources() -> tuple[list[str], list[str], list[str]]:
    """(local index URLs, local find-links, remote index URLs) from pip's configuration, in order."""
    proc = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True)
    indexes, links, has_index = [], [], False
    for line in proc.stdout.splitlines():
        key, _, value = line.partition("=")
        words = value.strip().strip("'\"").split()
        if key.endswith(".index-url"):
            indexes[:0] = [w for w in words if w not in indexes]
            has_index = True
        elif key.endswith(".extra-index-url"):
            indexes += [w for w in words if w not in indexes]
        elif key.endswith(".find-links"):
            links += [w for w in words if w not in links]
    if not has_index:
        indexes.append("https://pypi.org/simple")
    local_idx = [u for u in indexes if u.startswith("file:")]
    local_links = [u for u in links if u.startswith("file:") or Path(u).is_dir()]
    return local_idx, local_links, [u for u in indexes if not u.startswith("file:")]


def index_args(indexes: list[str], links: list[str]) -> list[str]:
    args = ["--index-url", indexes[0]] if indexes else ["--no-index"]
    for url in indexes[1:]:
        args += ["--extra-index-url", url]
    for link in links:
        args += ["--find-links", link]
    return args


def fetch_torch(wheels: Path, cuda: bool, torch_index: list[str]) -> str:
    """Download torch and torchvision from local sources (and ``torch_index``); return the variant."""
    pins = torch_pins()
    local_idx, local_links, _ = pip_sources()
    idx = local_idx + torch_index
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull}  # no remote index from the config
    where = ", ".join(idx + local_links) or "nowhere"
    variants = ["cuda"] if cuda else ["cpu", "cuda"]
    for variant in variants:
        suffix = "+cpu" if variant == "cpu" else ""
        reqs = [f"{name}=={version}{suffix}" for name, version in pins.items()]
        log(f"torch ({variant} build): {' '.join(reqs)} from {where}")
        proc = pip(
            "download",
            "--no-deps",
            "--progress-bar",
            "off",
            "--dest",
            str(wheels),
            *reqs,
            *index_args(idx, local_links),
            env=env,
            check=False,
        )
        if proc.returncode == 0:
            return variant
        if variant == "cpu":
            log(
                f"no CPU build of torch {pins['torch']} / torchvision {pins['torchvision']} in {where}: "
                "falling back to the CUDA build (it runs on the CPU too, several GB larger). "
                "For a CPU bundle pass --torch-index https://download.pytorch.org/whl/cpu"
            )
    raise BundleError(
        f"torch {pins['torch']} and torchvision {pins['torchvision']} not found in {where}; pass --torch-index URL"
    )


def build_project_wheel(wheels: Path) -> Path:
    """``pip wheel . --no-deps`` from a clean copy of the sources (no stale build/ leftovers)."""
    with tempfile.TemporaryDirectory(prefix="evosam-src-") as tmp:
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
        for item in SOURCE_ITEMS:
            src = REPO / item
            (shutil.copytree(src, Path(tmp) / item, ignore=ignore) if src.is_dir() else shutil.copy2(src, tmp))
        log("project wheel: pip wheel . --no-deps --no-build-isolation")
        pip("wheel", "--no-deps", "--no-build-isolation", "-q", "--wheel-dir", str(wheels), tmp)
    found = sorted(wheels.glob("evosam_annotator-*.whl"))
    if not found:
        raise BundleError("the project wheel was not built")
    return found[-1]


def download_rest(wheels: Path, project_wheel: Path) -> None:
    """Every other dependency, from local copies where they exist, else from the remote index;
    sdists become wheels. pip breaks a tie between equal files in favour of the index listed
    last, so the local indexes go last."""
    local_idx, local_links, remote = pip_sources()
    reqs = [f"{project_wheel}[{','.join(EXTRAS)}]"] + [str(p) for p in wheels.glob("torch*.whl")]
    log(f"dependencies: pip download, looking in {', '.join(remote + local_idx + local_links)} (local preferred)")
    pip(
        "download",
        "--progress-bar",
        "off",
        "--dest",
        str(wheels),
        "--find-links",
        str(wheels),
        *reqs,
        *index_args(remote + local_idx, local_links),
    )
    for sdist in [*wheels.glob("*.tar.gz"), *wheels.glob("*.zip")]:
        log(f"building a wheel from {sdist.name}")
        pip("wheel", "--no-deps", "-q", "--wheel-dir", str(wheels), str(sdist))
        sdist.unlink()


def from_installed(
    wheels: Path, project_wheel: Path, without_torch: bool, compresslevel: int | None
) -> tuple[str, list[str]]:
    """Repack the installed dependency closure of the project; return the torch variant found and
    the names left out (``without_torch``: torch, torchvision and what only they need)."""
    import repack

    dists = repack.installed()
    roots = repack.wheel_requirements(project_wheel, EXTRAS)
    stop = frozenset({"torch", "torchvision"} if without_torch else ())
    needed = repack.closure(roots, dists, stop)
    if without_torch:
        only_torch = repack.closure(["torch", "torchvision"], dists) - needed
        tools = only_torch & {"pip", "setuptools", "wheel"}  # a fresh venv's own may be too old: ship them
        needed, only_torch = needed | tools, only_torch - tools
        log(f"without torch: leaving out {len(only_torch)} packages (torch, torchvision and what only they need)")
    else:
        only_torch = set()
    log(f"repacking {len(needed)} installed distributions from {sys.prefix}")
    for name in sorted(needed):
        repack.repack(dists[name], wheels, compresslevel)
    if without_torch:
        return "none (provided by the target)", sorted(only_torch)
    import torch

    return ("cuda" if torch.version.cuda else "cpu"), []


def sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def write_metadata(out: Path, mode: str, variant: str, version: str, left_out: list[str]) -> dict:
    """requirements.txt (exact pins with hashes), manifest.json, README.txt and the install script."""
    files, lines = [], []
    for whl in sorted((out / "wheels").glob("*.whl")):
        name, ver, _, _ = parse_wheel_filename(whl.name)
        digest = sha256(whl)
        files.append(
            {"file": whl.name, "name": str(name), "version": str(ver), "bytes": whl.stat().st_size, "sha256": digest}
        )
        lines.append(f"{name}=={ver} --hash=sha256:{digest}")
    (out / "requirements.txt").write_text("\n".join(lines) + "\n")
    manifest = {
        "project": PROJECT,
        "version": version,
        "mode": mode,
        "torch": variant,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "platform": f"{platform.system()} {platform.machine()}",
        "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "wheels": files,
        "total_bytes": sum(f["bytes"] for f in files),
        "left_out": left_out,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    shutil.copy2(HERE / "install_offline.sh", out / "install_offline.sh")
    text = (HERE / "bundle_readme.txt").read_text()
    (out / "README.txt").write_text(
        text.format(
            version=version, torch=variant, python=manifest["python"], platform=manifest["platform"], count=len(files)
        )
    )
    return manifest


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="build_bundle.sh", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, help="bundle folder (default: dist/evosam-annotator-VERSION-offline)")
    p.add_argument("--cuda", action="store_true", help="CUDA build of torch (default: CPU build where obtainable)")
    p.add_argument(
        "--torch-index",
        action="append",
        default=[],
        metavar="URL",
        help="also look for torch here, e.g. https://download.pytorch.org/whl/cpu (repeatable)",
    )
    p.add_argument("--from-installed", action="store_true", help="fast: repack the wheels installed in this venv")
    p.add_argument("--without-torch", action="store_true", help="with --from-installed: leave torch out")
    p.add_argument("--store", action="store_true", help="with --from-installed: wheels uncompressed (faster)")
    p.add_argument("--tar", action="store_true", help="also write BUNDLE.tar next to the folder")
    p.add_argument("--force", action="store_true", help="replace an existing bundle folder")
    args = p.parse_args(argv)
    if (args.without_torch or args.store) and not args.from_installed:
        p.error("--without-torch and --store need --from-installed")
    if args.from_installed and (args.cuda or args.torch_index):
        p.error("--from-installed takes torch as installed; --cuda and --torch-index do not apply")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(REPO))
    from evosam import __version__ as version

    out = (args.out or REPO / "dist" / f"{PROJECT}-{version}-offline").resolve()
    if out.exists() and not args.force:
        raise BundleError(f"{out} exists; pass --force to replace it")
    start = time.perf_counter()
    shutil.rmtree(out, ignore_errors=True)
    (out / "wheels").mkdir(parents=True)
    wheels = out / "wheels"
    project_wheel = build_project_wheel(wheels)
    if args.from_installed:
        mode = "from-installed" + (" without torch" if args.without_torch else "")
        variant, left_out = from_installed(wheels, project_wheel, args.without_torch, None if args.store else 1)
    else:
        mode, left_out = "download", []
        variant = fetch_torch(wheels, args.cuda, args.torch_index)
        download_rest(wheels, project_wheel)
    manifest = write_metadata(out, mode, variant, version, left_out)
    log(
        f"{out}: {len(manifest['wheels'])} wheels, {manifest['total_bytes'] / 1e6:.0f} MB, torch {variant}, "
        f"{time.perf_counter() - start:.0f} s"
    )
    if args.tar:
        tar = out.with_suffix(".tar")
        with tarfile.open(tar, "w") as tf:
            tf.add(out, arcname=out.name)
        log(f"{tar}: {tar.stat().st_size / 1e6:.0f} MB")
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except (BundleError, LookupError, OSError) as exc:
        print(f"build_bundle: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
