"""``evosam propagate SOURCE (--box ... | --mask MASK.png) --start N [--end M] [--backward] --out DIR``."""

from __future__ import annotations

import argparse
from pathlib import Path

from evosam.ahead import EmbeddingsAhead
from evosam.commands.common import add_batch_argument, add_model_arguments, batch_from_args, model_from_args, progress
from evosam.errors import InputError
from evosam.imageio import read_mask, write_mask_png
from evosam.models import validate_box
from evosam.propagate import frame_order, propagate
from evosam.video import open_video


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "propagate",
        help="propagate a mask or box through a video",
        description="Propagate a mask (or a box) from frame START through a video or frame folder; "
        "writes one 0/255 PNG per frame named by zero-padded frame index.",
    )
    p.add_argument("source", help="video file or folder of frames")
    start = p.add_mutually_exclusive_group(required=True)
    start.add_argument("--box", nargs=4, type=float, metavar=("X0", "Y0", "X1", "Y1"), help="box on the start frame")
    start.add_argument("--mask", metavar="MASK.png", help="mask of the start frame (non-zero = object)")
    p.add_argument("--start", type=int, required=True, metavar="N", help="start frame index (0-based)")
    p.add_argument("--end", type=int, default=None, metavar="M", help="last frame to propagate to (default: clip end)")
    p.add_argument("--backward", action="store_true", help="walk towards the first frame")
    add_model_arguments(p)
    add_batch_argument(p)
    p.add_argument("--out", required=True, metavar="DIR", help="output folder for the masks")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    with open_video(args.source) as video:
        frames = frame_order(args.start, args.end, args.backward, video.frame_count)
        backend = model_from_args(args)
        start_frame = video.frame(args.start)
        if args.mask:
            init = read_mask(args.mask, start_frame.shape[:2])
            if not init.any():
                raise InputError(f"{args.mask}: the mask is empty")
        else:
            box = validate_box(args.box, start_frame.shape[:2])
            init = backend.predict(backend.embed(start_frame), box=box).mask
        write_mask_png(out / f"{video.frame_name(args.start)}.png", init)
        flagged = []
        with EmbeddingsAhead(backend, video.frame, frames, batch_from_args(args, backend)) as ahead:
            results = propagate(backend, ahead.frame, ahead.embedding, frames, init)
            for result in progress(results, len(frames), "propagating"):
                write_mask_png(out / f"{video.frame_name(result.index)}.png", result.mask)
                if result.flagged:
                    flagged.append(f"{result.index}({','.join(result.flags)})")
    print(
        f"{out}: wrote {len(frames) + 1} masks, frames {args.start}..{frames[-1] if len(frames) else args.start}"
        f"; flagged: {' '.join(flagged) if flagged else 'none'}"
    )
    return 0
