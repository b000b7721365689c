"""The ``evosam`` CLI contract: outputs, exit codes, one-line errors, no partial files."""

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from evosam.cli import main
from evosam.masks import dice
from tests.conftest import REPO, shared_data


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """Run ``python -m evosam`` in a fresh process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "evosam", *args], capture_output=True, text=True, cwd=REPO, timeout=600
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and "Warning" not in ln and "warnings.warn" not in ln]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_version_and_help():
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("evosam ")
    for command in ("segment", "propagate", "bench"):
        proc = run_cli(command, "--help")
        assert proc.returncode == 0 and "usage: evosam" in proc.stdout


def test_segment_writes_a_mask_of_the_grasper(tmp_path):
    root = shared_data("cholecseg8k_clip")
    labels = cv2.imread(str(root / "masks" / "000561.png"), cv2.IMREAD_UNCHANGED)
    ys, xs = np.nonzero(labels == 31)
    out = tmp_path / "grasper.png"
    code = main(
        [
            "segment",
            str(root / "frames" / "000561.png"),
            "--box",
            str(xs.min()),
            str(ys.min()),
            str(xs.max()),
            str(ys.max()),
            "--device",
            "cpu",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    mask = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert set(np.unique(mask)) <= {0, 255}
    truth = labels == 31
    assert 2 * ((mask > 0) & truth).sum() / ((mask > 0).sum() + truth.sum()) > 0.8


@pytest.mark.parametrize(
    "box, needle",
    [
        (["10", "10", "5", "20"], "x1 must exceed x0"),
        (["nan", "0", "5", "5"], "finite"),
        (["5000", "5000", "6000", "6000"], "outside"),
    ],
)
def test_segment_bad_box_is_one_line_and_writes_nothing(tmp_path, capsys, box, needle):
    img = tmp_path / "frame.png"
    cv2.imwrite(str(img), np.full((40, 60, 3), 128, np.uint8))
    out = tmp_path / "mask.png"
    assert main(["segment", str(img), "--box", *box, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]
    assert list(tmp_path.iterdir()) == [img]


def test_segment_bad_files(tmp_path):
    fake = tmp_path / "notes.png"
    fake.write_text("not an image")
    proc = run_cli("segment", str(fake), "--box", "1", "1", "5", "5", "--out", str(tmp_path / "m.png"))
    assert_one_line_error(proc, "notes.png", "not a readable image")
    proc = run_cli("segment", str(tmp_path / "missing.png"), "--box", "1", "1", "5", "5", "--out", "m.png")
    assert_one_line_error(proc, "missing.png", "not found")
    img = tmp_path / "frame.png"
    cv2.imwrite(str(img), np.full((40, 60, 3), 128, np.uint8))
    proc = run_cli("segment", str(img), "--box", "1", "1", "5", "5", "--model", "sam_vit_b", "--out", "m.png")
    assert_one_line_error(proc, "needs a checkpoint file")
    proc = run_cli(
        "segment",
        str(img),
        "--box",
        "1",
        "1",
        "5",
        "5",
        "--model",
        "sam_vit_b",
        "--checkpoint",
        str(fake),
        "--out",
        "m.png",
    )
    assert_one_line_error(proc, "notes.png", "checkpoint")


def test_propagate_writes_one_png_per_frame(tmp_path):
    from evosam.sample import default_sample_path

    sample = default_sample_path()
    first_mask = sample.parent / "masks" / "000000.png"
    out = tmp_path / "masks"
    code = main(
        [
            "propagate",
            str(sample),
            "--mask",
            str(first_mask),
            "--start",
            "0",
            "--end",
            "3",
            "--device",
            "cpu",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [f"{i:06d}.png" for i in range(4)]
    truth = cv2.imread(str(sample.parent / "masks" / "000003.png"), cv2.IMREAD_UNCHANGED) > 0
    got = cv2.imread(str(out / "000003.png"), cv2.IMREAD_UNCHANGED)
    assert set(np.unique(got)) == {0, 255}
    # SAM alone covers a thin vessel tree with a blob (the head's job is to fix that):
    # here only check that the proposal stays on the labelled tree.
    assert ((got > 0) & truth).sum() > 0.5 * truth.sum()


def test_propagate_bad_inputs(tmp_path):
    from evosam.sample import default_sample_path

    sample = default_sample_path()
    proc = run_cli("propagate", str(sample), "--box", "1", "1", "20", "20", "--start", "9999", "--out", str(tmp_path))
    assert_one_line_error(proc, "start frame 9999")
    small = tmp_path / "small.png"
    cv2.imwrite(str(small), np.full((10, 10), 255, np.uint8))
    proc = run_cli("propagate", str(sample), "--mask", str(small), "--start", "0", "--out", str(tmp_path / "o"))
    assert_one_line_error(proc, "small.png", "mask is 10x10")
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_bench_propagation_json_contract():
    root = shared_data("cholecseg8k_clip")
    proc = run_cli(
        "bench",
        "propagation",
        "--frames",
        str(root / "frames"),
        "--masks",
        str(root / "masks"),
        "--label",
        "31",
        "--limit",
        "4",
        "--device",
        "cpu",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("mean_dice", "last10_dice", "oracle_box_dice", "frames", "seconds_per_frame", "lost_frames"):
        assert key in result
    assert result["frames"] == 3 and result["mean_dice"] > 0.8
    assert result["tracker"] == "sam-flow" and result["frames_per_s"] == pytest.approx(1 / result["seconds_per_frame"])
    assert "label" in proc.stdout.splitlines()[1]


def test_bench_propagation_missing_label(tmp_path):
    root = shared_data("cholecseg8k_clip")
    proc = run_cli(
        "bench",
        "propagation",
        "--frames",
        str(root / "frames"),
        "--masks",
        str(root / "masks"),
        "--label",
        "99",
        "--limit",
        "2",
        "--device",
        "cpu",
    )
    assert_one_line_error(proc, "label 99")


def test_unknown_device_is_refused(tmp_path):
    img = tmp_path / "frame.png"
    cv2.imwrite(str(img), np.full((40, 60, 3), 128, np.uint8))
    proc = run_cli("segment", str(img), "--box", "1", "1", "5", "5", "--device", "tpu", "--out", "m.png")
    assert_one_line_error(proc, "device 'tpu'")


def sample_propagate(*extra: str) -> list[str]:
    """``evosam propagate`` arguments from the bundled sample's first mask, then ``extra``."""
    from evosam.sample import default_sample_path

    sample = default_sample_path()
    return ["propagate", str(sample), "--mask", str(sample.parent / "masks" / "000000.png"), "--start", "0", *extra]


def test_propagate_with_a_tracker_chosen_by_name(tmp_path):
    from evosam.sample import default_sample_path

    out = tmp_path / "flow"
    assert main(sample_propagate("--end", "2", "--tracker", "flow", "--device", "cpu", "--out", str(out))) == 0
    assert sorted(p.name for p in out.iterdir()) == [f"{i:06d}.png" for i in range(3)]
    masks = default_sample_path().parent / "masks"
    truth = cv2.imread(str(masks / "000002.png"), cv2.IMREAD_UNCHANGED) > 0
    got = cv2.imread(str(out / "000002.png"), cv2.IMREAD_UNCHANGED) > 0
    assert dice(got, truth) > 0.7
    proc = run_cli(*sample_propagate("--tracker", "nope", "--out", str(tmp_path / "o")))
    assert_one_line_error(proc, "unknown tracker 'nope'", "sam-flow")
    assert not (tmp_path / "o").exists()


def test_propagate_head_file_errors(tmp_path):
    proc = run_cli(*sample_propagate("--head", str(tmp_path / "none.npz"), "--out", str(tmp_path / "o")))
    assert_one_line_error(proc, "none.npz", "not found")
    proc = run_cli(*sample_propagate("--label", "artery", "--out", str(tmp_path / "o")))
    assert_one_line_error(proc, "--label needs --head")


def test_propagate_with_a_saved_learner(tmp_path, litemedsam):
    """A learner saved by the window refines ``evosam propagate --head``; a label it lacks is one line."""
    from evosam.learning import Learner
    from evosam.masks import prompt_box
    from evosam.sample import default_sample_path
    from evosam.video import open_video

    sample = default_sample_path()
    first_mask = sample.parent / "masks" / "000000.png"
    truth = cv2.imread(str(first_mask), cv2.IMREAD_UNCHANGED) > 0
    with open_video(sample) as video:
        frame = video.frame(0)
    box = prompt_box(truth)
    learner = Learner(litemedsam.name)
    learner.teach("k0", frame, litemedsam.predict(litemedsam.embed(frame), box=box), truth, box, "vessel")
    head = tmp_path / "head.npz"
    learner.save(head)
    head_args = ("--end", "1", "--head", str(head), "--label")
    proc = run_cli(*sample_propagate(*head_args, "artery", "--out", str(tmp_path / "o")))
    assert_one_line_error(proc, "head.npz", "no head for label 'artery'", "vessel")
    out = tmp_path / "ok"
    code = main(sample_propagate(*head_args, "vessel", "--device", "cpu", "--out", str(out)))
    assert code == 0 and sorted(p.name for p in out.iterdir()) == ["000000.png", "000001.png"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeTerminal:
    """A text stream that says it is a terminal; ``text`` is what was written."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


def test_progress_line_counts_rate_and_time_left():
    from evosam.commands.progress import Progress

    clock, term = FakeClock(), FakeTerminal()
    with Progress(80, "frame", stream=term, clock=clock) as bar:
        clock.now += 4.0
        bar.update(12)
        assert term.text == "\rframe 12/80  3.0 frames/s  23 s left"
        clock.now += 0.05  # within the redraw interval: skipped
        bar.update(13)
        assert term.text.count("\r") == 1
        clock.now += 200.0
        bar(79, 80)  # the exporters' progress(done, total)
        assert term.text.endswith("\rframe 79/80  0.39 frames/s  3 s left")
        clock.now += 0.01
        bar.update(80)  # the last item is always drawn
    assert term.text.endswith("\rframe 80/80  0.39 frames/s  took 3 min 24 s\n")


def test_progress_blanks_what_a_longer_line_left():
    from evosam.commands.progress import Progress

    clock, term = FakeClock(), FakeTerminal()
    bar = Progress(2000, "mask", stream=term, clock=clock, interval=0)
    clock.now += 1.0
    bar.update(1)
    assert term.text == "\rmask 1/2000  1.0 masks/s  33 min 19 s left"
    clock.now += 1.0
    bar.update(1000)
    assert term.text.endswith("\rmask 1000/2000  500.0 masks/s  2 s left   ")  # 3 blanks over the longer line


def test_progress_prints_nothing_when_not_a_terminal():
    import io

    from evosam.commands.progress import Progress, track

    stream = io.StringIO()
    with Progress(3, "frame", stream=stream) as bar:
        for i in range(1, 4):
            bar.update(i)
    assert stream.getvalue() == ""
    assert list(track(range(3), 3, "frame")) == [0, 1, 2]


def test_format_seconds():
    from evosam.commands.progress import format_seconds

    assert [format_seconds(s) for s in (0, 22.4, 59.6, 185, 3725)] == [
        "0 s",
        "22 s",
        "1 min 00 s",
        "3 min 05 s",
        "1 h 02 min",
    ]


def test_propagate_shows_progress_on_a_terminal_only(tmp_path, capsys, monkeypatch):
    """On a terminal stderr gets ``frame i/n ...`` lines redrawn with ``\\r``; stdout is the same line."""
    argv = sample_propagate("--end", "2", "--tracker", "flow", "--device", "cpu")
    assert main([*argv, "--out", str(tmp_path / "plain")]) == 0
    plain = capsys.readouterr()
    assert "frame 3/3" not in plain.err
    term = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert main([*argv, "--out", str(tmp_path / "tty")]) == 0
    assert capsys.readouterr().out == plain.out.replace("plain", "tty")
    assert "\rframe 3/3  " in term.text and term.text.endswith("\n") and "took" in term.text
