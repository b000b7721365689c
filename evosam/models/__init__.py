"""SAM backends behind one small interface, and the registry of model names."""

from evosam.models.backend import ModelSpec, SamBackend, resolve_device
from evosam.models.protocol import PromptableModel
from evosam.models.registry import DEFAULT_MODEL, REGISTRY, load_model
from evosam.models.types import Embedding, Points, Prediction, validate_box

__all__ = [
    "DEFAULT_MODEL",
    "REGISTRY",
    "Embedding",
    "ModelSpec",
    "Points",
    "Prediction",
    "PromptableModel",
    "SamBackend",
    "load_model",
    "resolve_device",
    "validate_box",
]
