"""``evosam import SOURCE --masks DIR_OR_COCO_JSON [--label NAME] [--status S] --out PROJECT``."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from evosam.errors import InputError
from evosam.names import STATUSES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import",
        help="build a project from a video and existing masks (PNG folders or COCO)",
        description="Build a project from a video (or frame folder) and masks: PNG folders with files named by "
        "zero-padded frame index (000017.png, as `evosam propagate` writes them) or by frame file stem, "
        "or a COCO JSON (RLE or polygons). Repeat --masks (and --label, in the same order) for several labels.",
    )
    p.add_argument("source", help="video file or folder of frames")
    p.add_argument("--masks", required=True, action="append", metavar="DIR_OR_JSON", help="PNG mask folder or COCO")
    p.add_argument("--label", action="append", metavar="NAME", help="label of each --masks (PNG default: vessel)")
    p.add_argument("--status", choices=STATUSES, default="confirmed", help="(default: %(default)s)")
    p.add_argument("--out", required=True, metavar="PROJECT", help="new project folder (NAME.evosam)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # here, not at the top: ``evosam --help`` must not wait for OpenCV and numpy
    from evosam.annotations import Status
    from evosam.export import import_project
    from evosam.project import save_project
    from evosam.video import open_video

    out = Path(args.out)
    if out.exists():
        raise InputError(f"{out}: already exists; choose a new project folder")
    labels = args.label or []
    if len(labels) > len(args.masks):
        raise InputError(f"{len(labels)} --label for {len(args.masks)} --masks: give at most one label per --masks")
    sources = [(m, labels[i] if i < len(labels) else None) for i, m in enumerate(args.masks)]
    with open_video(args.source) as video:
        project = import_project(video, sources, Status(args.status))
    try:
        save_project(out, project)
    except InputError:
        shutil.rmtree(out, ignore_errors=True)  # no partial project left behind
        raise
    per_label = ", ".join(f"{lab.name}: {sum(1 for _, n in project.masks if n == lab.name)}" for lab in project.labels)
    print(f"{out}: project of {project.video.frame_count} frames with {len(project.masks)} masks ({per_label})")
    return 0
