"""``evosam export PROJECT --format {png,coco,video} --out PATH [--labels ...] [--status ...] [--frames]``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from evosam.commands.progress import Progress
from evosam.names import STATUSES

if TYPE_CHECKING:
    from evosam.project import Project
    from evosam.video import VideoSource


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a project's masks (PNG dataset, COCO RLE, overlay video)",
        description="Export a project: png = OUT/<label>/masks/<frame>.png (0/255) [+ images/ with --frames], "
        "the layout `evosam bench continual --task NAME=OUT/<label>` reads; coco = one COCO JSON with RLE masks "
        "[+ images/ beside it with --frames]; video = an mp4 of the clip with the masks overlaid.",
    )
    p.add_argument("project", help="project folder (NAME.evosam)")
    p.add_argument("--format", required=True, choices=("png", "coco", "video"), help="what to write")
    p.add_argument("--out", required=True, metavar="PATH", help="new folder (png), .json file (coco) or .mp4 (video)")
    p.add_argument("--labels", nargs="+", metavar="NAME", help="only these labels (default: all)")
    p.add_argument(
        "--status",
        nargs="+",
        choices=STATUSES,
        default=None,
        help="masks of these statuses (default: confirmed; video: confirmed proposed)",
    )
    p.add_argument("--frames", action="store_true", help="png/coco: also write the frames (images/)")
    p.add_argument("--class-ids", action="store_true", help="png: also class-id masks in OUT/classes/ with a legend")
    p.set_defaults(func=run)


def _video(project: Project, project_path: str) -> VideoSource:
    from evosam.project import locate_video
    from evosam.video import open_video

    video = open_video(locate_video(project_path, project.video))
    project.video.check(video)
    return video


def run(args: argparse.Namespace) -> int:
    # here, not at the top: ``evosam --help`` must not wait for OpenCV and numpy
    from evosam.annotations import Status
    from evosam.export import export_coco, export_png, export_video
    from evosam.project import load_project

    project = load_project(args.project)
    out = Path(args.out)
    default = ("confirmed", "proposed") if args.format == "video" else ("confirmed",)
    statuses = [Status(s) for s in (args.status or default)]
    video = _video(project, args.project) if args.frames or args.format == "video" else None
    bar = Progress(project.video.frame_count, "frame") if args.format == "video" else Progress(0, "mask")
    try:
        if args.format == "png":
            done = export_png(project, out, args.labels, statuses, video, args.class_ids, progress=bar)
        elif args.format == "coco":
            done = export_coco(project, out, args.labels, statuses, video, progress=bar)
        else:
            done = export_video(project, video, out, args.labels, statuses, progress=bar)
    finally:
        bar.close()
        if video is not None:
            video.close()
    print(wrote_line(done.out, done.masks, done.frames))
    return 0


def wrote_line(out: Path | str, masks: int, frames: int = 0) -> str:
    """The line the export prints: ``OUT: wrote 1 mask, 2 frames`` (frames only when written)."""
    text = f"{out}: wrote {masks} mask" + ("" if masks == 1 else "s")
    if frames:
        text += f", {frames} frame" + ("" if frames == 1 else "s")
    return text
