"""``evosam models [--json]``: which models are ready here and where their weights come from."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models",
        help="list the models and which are ready",
        description="List the models: the bundled one, and those whose checkpoint is in the user checkpoints "
        "folder (file names below). Any model also loads from --checkpoint PATH.",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # here, not at the top: the registry imports torch
    from evosam.models.registry import REGISTRY, available_models
    from evosam.paths import checkpoints_dir

    models = available_models()
    if args.json:
        print(json.dumps({"checkpoints": str(checkpoints_dir()), "models": [asdict(m) for m in models]}, indent=2))
        return 0
    print(f"checkpoints folder: {checkpoints_dir()}")
    for m in models:
        hint = REGISTRY[m.name].checkpoint_hint
        if m.ready:
            state = f"ready     {m.origin}: {m.source}"
        else:
            state = f"missing   put {hint} in the checkpoints folder, or pass --checkpoint PATH"
        print(f"  {m.name:<16} {m.display_name:<13} {state}")
    return 0
