"""Typed errors for user mistakes: the CLI and GUI show ``str(err)`` as one line."""

from __future__ import annotations


class EvoSamError(Exception):
    """Base of every error caused by user input (bad file, bad argument)."""


class InputError(EvoSamError):
    """A file or argument the user gave is unusable; the message names it and the problem."""


class CheckpointError(InputError):
    """A model checkpoint is missing, truncated or of the wrong architecture."""


class VideoError(InputError):
    """A video or frame folder cannot be opened or decoded."""


class ProjectError(InputError):
    """A project folder is missing, corrupt, newer than this EvoSAM, or cannot be written."""
