"""Quick GPU timing probe: median embed/predict ms for a model on CUDA (fp16 encoder vs fp32)."""

import sys
import time

import numpy as np
import torch

from evosam.models import load_model


def median_ms(fn, n=30, warm=5):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times))


frame = np.random.default_rng(0).integers(0, 255, (480, 854, 3), dtype=np.uint8)
for name in sys.argv[1:]:
    for half in (False, True):
        b = load_model(name, device="cuda", random_init=name != "litemedsam", half=half)
        emb = b.embed(frame)
        e = median_ms(lambda b=b: b.embed(frame))
        p = median_ms(lambda b=b, emb=emb: b.predict(emb, box=(100, 100, 400, 300)))
        print(f"{name:16s} half={half!s:5s} embed {e:7.2f} ms  predict {p:6.2f} ms")
