"""Dataset export (PNG masks, COCO RLE, overlay video) and import of existing annotations.

Every exporter writes to a temp path beside its output and moves it into place when done:
an export is complete or absent. ``progress(done, total)`` may raise to cancel.
"""

from evosam.export.coco import coco_dict, encode_rle, export_coco
from evosam.export.common import frame_stem
from evosam.export.ingest import import_project
from evosam.export.overlay import export_video, overlay
from evosam.export.png import ExportSummary, export_png

__all__ = [
    "ExportSummary",
    "coco_dict",
    "encode_rle",
    "export_coco",
    "export_png",
    "export_video",
    "frame_stem",
    "import_project",
    "overlay",
]
