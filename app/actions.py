"""Every QAction of the main window and its shortcuts, in one place (menus, toolbar, help)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QToolBar, QWidget

# name: (menu text, shortcuts, status tip, checkable)
SPECS: dict[str, tuple[str, tuple[str, ...], str, bool]] = {
    "open": ("&Open video…", ("Ctrl+O",), "Open a video file or a folder of frames", False),
    "open_folder": ("Open &frame folder…", ("Ctrl+Shift+O",), "Open a folder of numbered frame images", False),
    "open_project": ("Open &project…", ("Ctrl+Alt+O",), "Open a saved project (a .evosam folder)", False),
    "save": ("&Save project", ("Ctrl+S",), "Save the project now (it also autosaves every second)", False),
    "save_as": ("Save project &as…", ("Ctrl+Shift+S",), "Save the project into a folder of your choice", False),
    "export": ("&Export mask dataset…", ("Ctrl+E",), "Confirmed masks and their frames as PNGs", False),
    "export_coco": ("Export &COCO JSON…", (), "Confirmed masks as COCO RLE annotations", False),
    "export_video": (
        "Export overlay &video…",
        (),
        "An mp4 of the clip with the confirmed and proposed masks drawn on it",
        False,
    ),
    "quit": ("&Quit", ("Ctrl+Q",), "Close the annotator", False),
    "play": ("&Play / pause", ("Space",), "Play or pause at the video's frame rate", True),
    "next": ("&Next frame", ("Right",), "Step one frame forward", False),
    "prev": ("P&revious frame", ("Left",), "Step one frame back", False),
    "first": ("&First frame", ("Home",), "Jump to the first frame", False),
    "last": ("&Last frame", ("End",), "Jump to the last frame", False),
    "jump": ("&Go to frame…", ("Ctrl+G",), "Jump to a frame number (from 0, as in exported file names)", False),
    "fit": ("&Fit to window", ("F",), "Scale the frame to fit the view", False),
    "show_masks": ("&Show masks", ("H",), "Show or hide the mask overlay (to see the tissue under it)", True),
    "follow": ("F&ollow propagation", (), "Show each frame as the propagation reaches it", True),
    "box": ("&Box tool", ("B",), "Drag a box around a structure to segment it", True),
    "point": ("&Point tool", ("V",), "Click to add a point to the mask, Shift-click to remove", True),
    "brush": ("Brus&h", ("D",), "Paint the mask by hand", True),
    "eraser": ("&Eraser", ("E",), "Erase parts of the mask", True),
    "bigger": ("Bigger brush", ("]",), "Grow the brush", False),
    "smaller": ("Smaller brush", ("[",), "Shrink the brush", False),
    "undo": ("&Undo", ("Ctrl+Z",), "Undo the last mask edit", False),
    "redo": ("&Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo the last undone edit", False),
    "clear": ("&Clear mask", ("Backspace",), "Remove the current label's mask on this frame", False),
    "confirm": ("&Confirm mask", ("Return", "Enter"), "Accept this frame's mask", False),
    "reject": ("Re&ject mask", ("Delete",), "Reject this frame's mask", False),
    "propagate_forward": ("Propagate &forward", ("P",), "Carry it on, to a confirmed frame or the end", False),
    "propagate_backward": ("Propagate &backward", ("Shift+P",), "Carry it back, to a confirmed frame or start", False),
    "fast_propagation": (
        "Fa&st propagation (keyframes)",
        (),
        "Encode keyframes only and carry them to the frames between by optical flow: about 3-5x faster on a 2-core CPU"
        " (uncheck to encode every frame)",
        True,
    ),
    "redetect": (
        "&Re-detect after camera jumps",
        (),
        "Propagate with an appearance memory that finds the object again after a camera jump or occlusion"
        " and marks frames where it is not found as lost (the sam-redetect tracker; a little slower)",
        True,
    ),
    "next_review": ("&Next to review", ("N",), "Show this label's least sure proposal (N again: the next one)", False),
    "accept_run": (
        "&Accept proposals…",
        ("Ctrl+Return",),
        "Confirm this label's proposals in a frame range (above a confidence) as one undo step",
        False,
    ),
    "cancel": ("&Cancel running job", ("Esc",), "Stop the propagation in progress", False),
    "shortcuts": ("&Keyboard shortcuts", ("F1",), "List the keyboard shortcuts", False),
}


# Shorter texts for the toolbar buttons (menus keep the full ones).
TOOLBAR_TEXT = {
    "prev": "◀ Frame",
    "play": "Play",
    "next": "Frame ▶",
    "box": "Box",
    "point": "Point",
    "clear": "Clear",
    "confirm": "Confirm",
    "reject": "Reject",
    "propagate_backward": "◀ Propagate",
    "propagate_forward": "Propagate ▶",
    "next_review": "Next to review",
    "accept_run": "Accept run…",
}


@dataclass
class Actions:
    """The QActions by name: ``actions.play``, ``actions.box``, ..."""

    all: dict[str, QAction]
    tools: QActionGroup

    def __getattr__(self, name: str) -> QAction:
        try:
            return self.all[name]
        except KeyError:
            raise AttributeError(name) from None


def build_actions(parent: QWidget) -> Actions:
    """Create every action with ``parent`` as owner and add them to it (so shortcuts work
    even for actions not in a menu). The tool actions are exclusive, box first."""
    actions: dict[str, QAction] = {}
    for name, (text, keys, tip, checkable) in SPECS.items():
        act = QAction(text, parent)
        act.setObjectName(f"action_{name}")
        act.setShortcuts([QKeySequence(k) for k in keys])
        act.setStatusTip(tip)
        act.setToolTip(f"{text.replace('&', '').rstrip('…')}" + (f" ({keys[0]})" if keys else ""))
        act.setCheckable(checkable)
        if name in TOOLBAR_TEXT:
            act.setIconText(TOOLBAR_TEXT[name])
        parent.addAction(act)
        actions[name] = act
    tools = QActionGroup(parent)
    for name in ("box", "point", "brush", "eraser"):
        tools.addAction(actions[name])
    actions["box"].setChecked(True)
    actions["show_masks"].setChecked(True)
    actions["follow"].setChecked(True)
    actions["fast_propagation"].setChecked(True)
    return Actions(actions, tools)


TOOLBAR = (
    "prev",
    "play",
    "next",
    None,
    "box",
    "point",
    "brush",
    "eraser",
    "WIDGET",
    None,
    "undo",
    "redo",
    "clear",
    None,
    "confirm",
    "reject",
    "next_review",
    "accept_run",
    None,
    "propagate_backward",
    "propagate_forward",
)
MENUS = {
    "&File": (
        "open",
        "open_folder",
        "open_project",
        "RECENT",
        None,
        "save",
        "save_as",
        None,
        "export",
        "export_coco",
        "export_video",
        None,
        "quit",
    ),
    "&Edit": ("undo", "redo", None, "clear", "confirm", "reject", None, "next_review", "accept_run"),
    "&View": ("play", "next", "prev", "first", "last", "jump", None, "fit", "show_masks", "follow"),
    "&Tools": (
        "box",
        "point",
        "brush",
        "eraser",
        "bigger",
        "smaller",
        None,
        "propagate_forward",
        "propagate_backward",
        "fast_propagation",
        "redetect",
        "cancel",
    ),
    "&Help": ("shortcuts",),
}


def add_toolbar_and_menus(window: QMainWindow, actions: Actions, tool_widget: QWidget) -> QMenu:
    """The window's toolbar (``tool_widget``, e.g. the brush size, after the tools) and menus;
    returns the (empty) File ▸ Open recent menu for the caller to fill when it opens."""
    toolbar = QToolBar("Tools", window)
    toolbar.setObjectName("tools")
    _fill(toolbar, TOOLBAR, actions, {"WIDGET": lambda: toolbar.addWidget(tool_widget)})
    window.addToolBar(toolbar)
    recent = QMenu("Open &recent", window)
    recent.setObjectName("recent_menu")
    for title, names in MENUS.items():
        menu = window.menuBar().addMenu(title)
        _fill(menu, names, actions, {"RECENT": lambda menu=menu: menu.addMenu(recent)})
    return recent


def _fill(target: QToolBar | QMenu, names: tuple, actions: Actions, special: dict) -> None:
    """Add the named actions to ``target``: None is a separator, names in ``special`` call it."""
    for name in names:
        if name is None:
            target.addSeparator()
        elif name in special:
            special[name]()
        else:
            target.addAction(actions.all[name])


def shortcut_table() -> list[tuple[str, str]]:
    """(action, shortcuts) rows for Help ▸ Keyboard shortcuts, in menu order."""
    rows = [(text.replace("&", "").rstrip("…"), ", ".join(keys)) for text, keys, _tip, _c in SPECS.values() if keys]
    rows.append(("Negative point (point tool)", "Shift+click"))
    rows.append(("Zoom / pan", "Wheel; middle or right drag, or hold Space and drag"))
    return rows


def shortcut_html() -> str:
    cells = "".join(f"<tr><td>{a}</td><td><b>{k}</b></td></tr>" for a, k in shortcut_table())
    return f"<table cellspacing='6'>{cells}</table>"
