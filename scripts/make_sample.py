"""Regenerate the bundled synthetic sample clip in assets/sample/ (deterministic)."""

from evosam.sample import SAMPLE_DIR, make_sample_clip

if __name__ == "__main__":
    print(make_sample_clip(SAMPLE_DIR))
