"""``evosam batch JOBS.json --out DIR [--address A] [--workers N] [--head HEAD.npz] [--json]``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from evosam.commands.common import add_batch_argument, add_model_arguments
from evosam.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "batch",
        help="densify keyframe masks across many videos on Ray",
        description="Propagate each job's keyframe masks forward and backward to every frame of its video, on "
        "Ray workers (this machine by default, a cluster with --address). Writes DIR/<name>/masks/NNNNNN.png, "
        "DIR/<name>/job.json (flagged frames) and DIR/<name>/<name>.evosam (a project to review). Finished jobs "
        "are skipped on a re-run; exit status 1 when a job failed.",
    )
    p.add_argument("jobs", metavar="JOBS.json", help='{"jobs": [{"name", "source", "label", "keyframes"}, ...]}')
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (one sub-folder per job)")
    p.add_argument("--address", default=None, help="a running Ray cluster (default: start Ray on this machine)")
    p.add_argument(
        "--workers", type=int, default=None, metavar="N", help="model workers (default: 1 per GPU or 2 CPUs)"
    )
    p.add_argument("--head", default=None, metavar="HEAD.npz", help="a saved learner whose heads refine the proposals")
    p.add_argument("--tracker", default=None, metavar="NAME", help="how masks are followed (as in evosam propagate)")
    add_model_arguments(p)
    add_batch_argument(p)
    p.add_argument("--json", action="store_true", help="also print the summary as one JSON object on the last line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from evosam.batch import read_jobs
    from evosam.batch.ray_pool import ModelSpec, run_batch
    from evosam.tracking import DEFAULT_TRACKER, make_tracker

    jobs = read_jobs(args.jobs)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    tracker = args.tracker or DEFAULT_TRACKER
    make_tracker(tracker)  # an unknown name fails here, not in every job
    if args.batch is not None and not 1 <= args.batch <= 256:
        raise InputError(f"--batch {args.batch}: use 1 to 256 frames")
    head = None if args.head is None else Path(args.head)
    if head is not None:
        _check_head(head, args.model, {job.label for job in jobs})
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create ({exc.strerror or exc})") from None
    spec = ModelSpec(args.model, args.checkpoint, args.device, args.runtime)
    started = time.perf_counter()
    progress = _Progress(len(jobs))
    outcomes = run_batch(
        jobs, out, spec, head=head, address=args.address, workers=args.workers, tracker=tracker,
        batch=args.batch, on_event=progress,
    )  # fmt: skip
    progress.close()
    summary = _summary(outcomes, time.perf_counter() - started)
    _write_summary(out / "batch.json", summary)
    _print_table(outcomes, summary)
    if args.json:
        print(json.dumps(summary))
    return 0 if summary["failed"] == 0 else 1


def _check_head(path: Path, model: str, labels: set[str]) -> None:
    """One line before anything starts when the learner file lacks a job's label."""
    from evosam.head.persist import load_learner_with

    load_learner_with(path, model, labels)


class _Progress:
    """Job progress on stderr: one line rewritten in place on a terminal, else a line per job."""

    def __init__(self, jobs: int) -> None:
        self.jobs, self.ended, self.running = jobs, 0, {}
        self.tty = sys.stderr.isatty()

    def __call__(self, event) -> None:
        if event.kind == "progress":
            self.running[event.job] = (event.done, event.total)
        else:
            self.running.pop(event.job, None)
            self.ended += 1
            o = event.outcome
            what = o.error if o.status == "failed" else f"{o.frames} frames, {len(o.flagged)} flagged"
            self._line(f"[{self.ended}/{self.jobs}] {o.name}: {o.status} ({what})", final=True)
            return
        busy = "  ".join(f"{name} {d}/{t}" for name, (d, t) in self.running.items())
        if self.tty:
            self._line(f"jobs {self.ended}/{self.jobs}  {busy}")

    def _line(self, text: str, final: bool = False) -> None:
        if self.tty:
            sys.stderr.write("\r\x1b[K" + text + ("\n" if final else ""))
        elif final:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _summary(outcomes, seconds: float) -> dict:
    done = [o for o in outcomes if o.status == "done"]
    frames = sum(o.frames for o in done)
    return {
        "jobs": [o.to_json() for o in outcomes],
        "done": len(done),
        "skipped": sum(o.status == "skipped" for o in outcomes),
        "failed": sum(o.status == "failed" for o in outcomes),
        "frames": frames,
        "seconds": round(seconds, 3),
        "frames_per_s": round(frames / seconds, 3) if seconds > 0 else None,
    }


def _write_summary(path: Path, summary: dict) -> None:
    from evosam.imageio import write_bytes_atomic

    write_bytes_atomic(path, json.dumps(summary, indent=1).encode())


def _print_table(outcomes, summary: dict) -> None:
    print(f"{'job':<24} {'status':<8} {'frames':>7} {'keys':>5} {'flagged':>8} {'seconds':>8}  error")
    for o in outcomes:
        counts = f"{o.frames:>7} {o.keyframes:>5} {len(o.flagged):>8} {o.seconds:>8.1f}"
        print(f"{o.name:<24} {o.status:<8} {counts}  {o.error}")
    rate = f" ({summary['frames_per_s']:.2f} frames/s)" if summary["frames"] else ""
    print(
        f"{len(outcomes)} jobs: {summary['done']} done, {summary['skipped']} skipped, {summary['failed']} failed; "
        f"{summary['frames']} frames in {summary['seconds']:.1f} s{rate}"
    )
