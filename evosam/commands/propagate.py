"""``evosam propagate SOURCE (--box ... | --mask MASK.png) --start N [--end M] [--backward] --out DIR``."""

from __future__ import annotations

import argparse
from pathlib import Path

from evosam.commands.common import (
    add_batch_argument,
    add_keyframes_argument,
    add_model_arguments,
    batch_from_args,
    model_from_args,
)
from evosam.commands.progress import track
from evosam.errors import InputError
from evosam.names import DEFAULT_TRACKER


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
    p.add_argument(
        "--tracker",
        default=DEFAULT_TRACKER,
        metavar="NAME",
        help="how masks are followed: sam-flow (default: SAM prompted by flow-carried boxes), sam-redetect "
        "(the same with an appearance memory that finds the object again after a jump and says when it is "
        "lost) or flow (optical flow only)",
    )
    p.add_argument("--head", default=None, metavar="HEAD.npz", help="a saved learner whose head refines the proposals")
    p.add_argument(
        "--label", default=None, help="with --head: the label whose head refines (default: the file's current)"
    )
    add_keyframes_argument(p)
    add_model_arguments(p)
    add_batch_argument(p)
    p.add_argument("--out", required=True, metavar="DIR", help="output folder for the masks")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # here, not at the top: ``evosam --help`` must not wait for torch and OpenCV
    from evosam.imageio import read_mask, write_mask_png
    from evosam.propagate import frame_order
    from evosam.tracking import Prompt, make_tracker, propagate_video
    from evosam.tracking.video import keyframes_for
    from evosam.video import open_video

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    tracker = make_tracker(args.tracker)
    with open_video(args.source) as video:
        frames = frame_order(args.start, args.end, args.backward, video.frame_count)
        backend = model_from_args(args)
        if args.mask:
            init = read_mask(args.mask, video.size)
            if not init.any():
                raise InputError(f"{args.mask}: the mask is empty")
            prompt = Prompt(args.start, mask=init)
        else:
            prompt = Prompt(args.start, box=tuple(args.box))
        head = head_from_args(args, backend.name, video.fingerprint())
        results = propagate_video(
            video,
            prompt,
            backend,
            head,
            frames=frames,
            tracker=tracker,
            batch=batch_from_args(args, backend),
            keyframes=keyframes_for(args.tracker, args.keyframes),
        )
        flagged = []
        for result in track(results, len(frames) + 1, "frame"):
            write_mask_png(out / f"{video.frame_name(result.index)}.png", result.mask)
            if result.flagged:
                flagged.append(f"{result.index}({','.join(result.flags)})")
    print(
        f"{out}: wrote {len(frames) + 1} masks, frames {args.start}..{frames[-1] if len(frames) else args.start}"
        f"; flagged: {' '.join(flagged) if flagged else 'none'}"
    )
    return 0


def head_from_args(args: argparse.Namespace, model_name: str, fingerprint: str):
    """The ``--head`` learner's refiner for ``--label`` on this video (None without ``--head``,
    or while that label's gate keeps SAM's mask); one-line errors for a wrong file or label."""
    if args.head is None:
        if args.label is not None:
            raise InputError("--label needs --head")
        return None
    from evosam.head.persist import load_learner_with

    learner = load_learner_with(args.head, model_name, None if args.label is None else {args.label})
    return learner.refiner(learner.label if args.label is None else args.label, video=fingerprint[:16])
