"""``evosam bench memory`` on a short made video: the table, the JSON, and memory within the
frame cache's bound (the 1-hour run is a benchmark, not a test)."""

import json

from tests.unit.test_cli import run_cli


def test_memory_benchmark_levels_off():
    proc = run_cli("bench", "memory", "--minutes", "0.1", "--size", "640", "360", "--visits", "60", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["frames"] == 180 and result["size"] == [360, 640]
    mbs = [mb for _, mb in result["rounds"]]
    assert len(mbs) == 6 and max(mbs) - mbs[0] < result["cache_mb"] + 64  # never past the frame cache's bound
    assert result["peak_rss_mb"] < 2048
