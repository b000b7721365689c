"""The Qt desktop annotator: windows, widgets and the model worker (no model maths here)."""
