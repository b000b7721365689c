"""Projects: a video's annotations, the learner (head state) and settings in a versioned folder.

Layout and schema history: docs/project-format.md. The GUI calls::

    ref = VideoRef.of(video)                                  # when opening a new video
    saver = Autosaver(path, lambda: Project.capture(ref, state, learner_snapshot, settings))
    saver.tick()                                              # from a 1 s timer
    saver.flush()                                             # on exit / Ctrl+S
    project = load_project(path)                              # ProjectError on a bad folder
    video = open_video(locate_video(path, project.video)); project.video.check(video)
    state = project.to_state(); learner = project.load_head(model_name)  # a Learner
"""

from evosam.project.autosave import Autosaver, has_unsaved_journal
from evosam.project.model import HeadFile, Project, VideoRef, locate_video
from evosam.project.schema import SCHEMA_VERSION
from evosam.project.store import load_project, save_project

__all__ = [
    "SCHEMA_VERSION",
    "Autosaver",
    "HeadFile",
    "Project",
    "VideoRef",
    "has_unsaved_journal",
    "load_project",
    "locate_video",
    "save_project",
]
