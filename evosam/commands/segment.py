"""``evosam segment IMAGE --box X0 Y0 X1 Y1 --out MASK.png``: one box, one mask."""

from __future__ import annotations

import argparse

from evosam.commands.common import add_model_arguments, model_from_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "segment", help="segment one image from a box prompt", description="Segment one image from a box."
    )
    p.add_argument("image", help="image file (PNG, JPEG, ...)")
    p.add_argument(
        "--box",
        nargs=4,
        type=float,
        required=True,
        metavar=("X0", "Y0", "X1", "Y1"),
        help="box in image pixels: left top right bottom",
    )
    add_model_arguments(p)
    p.add_argument("--out", required=True, metavar="MASK.png", help="output mask, 0/255 PNG")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # here, not at the top: ``evosam --help`` must not wait for torch and OpenCV
    from evosam.imageio import read_rgb, write_mask_png
    from evosam.models import validate_box

    frame = read_rgb(args.image)
    box = validate_box(args.box, frame.shape[:2])
    backend = model_from_args(args)
    pred = backend.predict(backend.embed(frame), box=box)
    write_mask_png(args.out, pred.mask)
    print(f"{args.out}: {int(pred.mask.sum())} pixels, predicted IoU {pred.iou:.3f} ({backend.describe()})")
    return 0
