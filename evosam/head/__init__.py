"""The EvoSAM incremental head: closed-form continual learning over frozen SAM features."""

from evosam.head.features import FeatureConfig, FeatureExtractor, RoiFeatures
from evosam.head.head import ALL_PROFILES, AUTO_PROFILE, DEFAULT_PROFILE, EvoHead, FrameStats, HeadConfig
from evosam.head.persist import HEAD_SCHEMA_VERSION, load_head, save_head
from evosam.head.ridge import Stats, solve

__all__ = [
    "ALL_PROFILES",
    "AUTO_PROFILE",
    "DEFAULT_PROFILE",
    "HEAD_SCHEMA_VERSION",
    "EvoHead",
    "FeatureConfig",
    "FeatureExtractor",
    "FrameStats",
    "HeadConfig",
    "RoiFeatures",
    "Stats",
    "load_head",
    "save_head",
    "solve",
]
