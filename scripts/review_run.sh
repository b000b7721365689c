#!/usr/bin/env bash
# A review run on the 81-frame cholecystectomy clip, driven by real X mouse and key events
# (xdotool), with a screenshot after each main step:
#
#   xvfb-run -a -s "-screen 0 1400x900x24" scripts/review_run.sh OUTDIR [VIDEO]
#
# Steps: open the window on a copy of the video (OUTDIR/work/, so that the COCO export lands
# beside it and not beside the shared original), wait for the model, add the label
# 'gallbladder' (Add label…), drag a box around the gallbladder on frame 0, Enter (confirm),
# P (propagate forward), N three times (next to review), Ctrl+Return (Accept proposals…,
# Enter), File ▸ Export COCO JSON… (Enter: the proposed name), Ctrl+Shift+S (Save project
# as…, a name typed in OUTDIR/work), Ctrl+Q, then reopen with --project and screenshot the
# restored Learning chart. EVOSAM_HOME is OUTDIR/work/home: the user's folders stay clean.
#
# Waits poll a condition: a window title (xdotool search --name), the autosaved project
# (masks proposed/confirmed, read from project.json and journal.jsonl), a file, or the
# window's process going idle (its CPU time in /proc). Screenshots: OUTDIR/NN-step.png.
# Without a window manager nothing gives a window the focus back after a dialog closes, so
# the script focuses the main window (as a window manager would) before it types.
set -euo pipefail

OUT=${1:?usage: review_run.sh OUTDIR [VIDEO]}
REPO=$(cd "$(dirname "$0")/.." && pwd)
SRC_VIDEO=${2:-/work/shared/data/videos/cholecystectomy_81f.mp4}
PY=$REPO/.venv/bin/python
LABEL=gallbladder
BOX="350 160 665 375" # the gallbladder on frame 0: x0 y0 x1 y1 in frame pixels
WIN_W=1400
WIN_H=900
ADD_LABEL_AT="1259 190" # the Labels dock's "Add label…" button in a 1400x900 window at 0,0
FILE_MENU_AT="19 8"     # the menu bar's "File"
TITLE=" — EvoSAM Annotator$"

[ -n "${DISPLAY:-}" ] || { echo "no DISPLAY: run under xvfb-run (see the header)" >&2; exit 2; }
mkdir -p "$OUT/work"
OUT=$(cd "$OUT" && pwd)
WORK=$OUT/work
export EVOSAM_HOME=$WORK/home
VIDEO=$WORK/$(basename "$SRC_VIDEO")
STEM=$(basename "$VIDEO" .mp4)
PROJECT=$WORK/review_run.evosam
cp -f "$SRC_VIDEO" "$VIDEO"
rm -rf "$EVOSAM_HOME" "$PROJECT" "$WORK/$STEM.json"
CLK_TCK=$(getconf CLK_TCK)
APP_PID=""
T0=$(date +%s)

log() { printf '[%4ss] %s\n' $(($(date +%s) - T0)) "$*"; }
die() { log "FAILED: $*"; shot 99-failure || true; exit 1; }

cleanup() {
    if [ -n "$APP_PID" ] && kill -0 "$APP_PID" 2>/dev/null; then
        kill "$APP_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT

shot() {
    import -window root "$OUT/$1.png"
    log "screenshot $OUT/$1.png"
}

# wait_for SECONDS DESCRIPTION COMMAND...: run COMMAND every second until it succeeds.
wait_for() {
    local limit=$1 what=$2 start
    shift 2
    start=$(date +%s)
    until "$@" >/dev/null 2>&1; do
        [ $(($(date +%s) - start)) -lt "$limit" ] || die "no $what after ${limit} s"
        kill -0 "$APP_PID" 2>/dev/null || die "the window exited while waiting for $what (see $OUT/app.log)"
        sleep 1
    done
    log "$what ($(($(date +%s) - start)) s)"
}

window_named() { xdotool search --name "$1"; }
no_window_named() { ! xdotool search --name "$1"; }
main_window() { xdotool search --name "$TITLE" | head -1; }
focus_main() { xdotool windowfocus --sync "$(main_window)"; }
focus_named() { xdotool windowfocus --sync "$(xdotool search --name "$1" | head -1)"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$APP_PID/stat"; }

# wait_idle SECONDS DESCRIPTION: until the window's process used under 10% of a core in each
# of 3 seconds in a row (model loading, embedding, propagation and teaching keep it busy).
wait_idle() {
    local limit=$1 what=$2 start quiet=0 before after
    start=$(date +%s)
    before=$(cpu_ticks)
    while [ "$quiet" -lt 3 ]; do
        [ $(($(date +%s) - start)) -lt "$limit" ] || die "the window still busy after ${limit} s ($what)"
        sleep 1
        after=$(cpu_ticks) || die "the window exited while waiting for $what (see $OUT/app.log)"
        if [ $((after - before)) -lt $((CLK_TCK / 10)) ]; then quiet=$((quiet + 1)); else quiet=0; fi
        before=$after
    done
    log "idle: $what ($(($(date +%s) - start)) s)"
}

# masks FOLDER: "PROPOSED CONFIRMED", the counts of $LABEL's masks in a project folder as
# autosaved (project.json, then the records of journal.jsonl that extend it).
masks() {
    "$PY" -S - "$1" "$LABEL" <<'EOF'
import json, pathlib, sys
root, label = pathlib.Path(sys.argv[1]), sys.argv[2]
try:
    manifest = json.loads((root / "project.json").read_text())
except (OSError, ValueError):
    print(0, 0)
    raise SystemExit
cells = {(m["frame"], m["label"]): m["status"] for m in manifest.get("masks", [])}
try:
    lines = (root / "journal.jsonl").read_bytes().split(b"\n")[:-1]
except OSError:
    lines = []
for line in lines:
    try:
        record = json.loads(line)
    except ValueError:
        break
    if record.get("base") != manifest.get("save_id"):
        continue
    for cell in record.get("cells", []):
        key = (cell["frame"], cell["label"])
        if cell["mask"] is None:
            cells.pop(key, None)
        else:
            cells[key] = cell["mask"]["status"]
mine = [s for (f, lab), s in cells.items() if lab == label]
print(mine.count("proposed"), mine.count("confirmed"))
EOF
}
autosave() { ls -d "$EVOSAM_HOME"/data/autosave/*.evosam 2>/dev/null | head -1; }
# has_masks FOLDER_FN MIN_PROPOSED MIN_CONFIRMED
has_masks() {
    local folder p c
    folder=$($1) && [ -n "$folder" ] || return 1
    read -r p c < <(masks "$folder")
    [ "$p" -ge "$2" ] && [ "$c" -ge "$3" ]
}
project() { echo "$PROJECT"; }

start_window() {
    (cd "$REPO" && exec "$PY" main.py "$@") >>"$OUT/app.log" 2>&1 &
    APP_PID=$!
    log "started the window (pid $APP_PID): main.py $*"
    wait_for 180 "the main window" window_named "$TITLE"
    xdotool windowmove --sync "$(main_window)" 0 0
    xdotool windowsize --sync "$(main_window)" "$WIN_W" "$WIN_H"
}

quit_window() {
    focus_main
    xdotool key ctrl+q
    local start
    start=$(date +%s)
    while kill -0 "$APP_PID" 2>/dev/null; do
        [ $(($(date +%s) - start)) -lt 120 ] || die "the window did not quit after Ctrl+Q"
        sleep 1
    done
    wait "$APP_PID" || die "the window exited with status $?"
    log "quit (Ctrl+Q)"
    APP_PID=""
}

# The frame's place on the screen: the canvas's dark grey (30,30,30) around the picture.
# Prints "X0 Y0 SCALE" of the shown frame (screen pixels; SCALE = screen px per frame px).
locate_frame() {
    import -window root "$OUT/locate.png"
    "$PY" - "$OUT/locate.png" "$(frame_width)" <<'EOF'
import sys
import cv2
import numpy as np

shot, width = cv2.imread(sys.argv[1]).astype(int), int(sys.argv[2])
bg = np.abs(shot - 30).max(axis=2) <= 2


def long_runs(b, n):
    out = np.zeros_like(b)
    for y, row in enumerate(b):
        d = np.diff(np.concatenate([[0], row.astype(np.int8), [0]]))
        for a, e in zip(np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]):
            if e - a >= n:
                out[y, a:e] = True
    return out


canvas = long_runs(bg, 300) | long_runs(bg.T, 200).T
ys, xs = np.nonzero(canvas)
x0, y0, x1, y1 = xs.min(), ys.min(), xs.max(), ys.max()
inner = ~bg[y0 : y1 + 1, x0 : x1 + 1]
rows, cols = np.nonzero(inner.mean(axis=1) > 0.5)[0], np.nonzero(inner.mean(axis=0) > 0.5)[0]
left, top, right = x0 + cols.min(), y0 + rows.min(), x0 + cols.max()
print(left, top, (right - left + 1) / width)
EOF
    rm -f "$OUT/locate.png"
}
frame_width() {
    "$PY" -c "import cv2, sys; print(int(cv2.VideoCapture(sys.argv[1]).get(cv2.CAP_PROP_FRAME_WIDTH)))" "$VIDEO"
}

drag_box() { # x0 y0 x1 y1 in frame pixels: a real press, move in steps, release
    local left top scale sx0 sy0 sx1 sy1 k
    read -r left top scale < <(locate_frame)
    read -r sx0 sy0 sx1 sy1 < <(awk -v l="$left" -v t="$top" -v s="$scale" -v b="$*" 'BEGIN {
        split(b, v, " "); printf "%d %d %d %d\n", l + v[1] * s, t + v[2] * s, l + v[3] * s, t + v[4] * s }')
    log "frame at ($left, $top), scale $scale: box on screen ($sx0, $sy0)-($sx1, $sy1)"
    xdotool mousemove "$sx0" "$sy0"
    sleep 0.3
    xdotool mousedown 1
    for k in $(seq 1 12); do
        xdotool mousemove $((sx0 + (sx1 - sx0) * k / 12)) $((sy0 + (sy1 - sy0) * k / 12))
        sleep 0.05
    done
    sleep 0.2
    xdotool mouseup 1
}

# -- the run ----------------------------------------------------------------------------
: >"$OUT/app.log"
start_window "$VIDEO"
wait_idle 300 "the model loaded, frame 0 shown"
shot 00-opened

log "Add label… '$LABEL'"
xdotool mousemove $ADD_LABEL_AT click 1
wait_for 30 "the Add label dialog" window_named "^Add label$"
focus_named "^Add label$"
xdotool type --delay 40 "$LABEL"
xdotool key Return
wait_for 30 "the Add label dialog closed" no_window_named "^Add label$"

log "box around the $LABEL on frame 0"
focus_main
drag_box $BOX
wait_for 120 "SAM's proposal on frame 0 (autosaved)" has_masks autosave 1 0
wait_idle 120 "the proposal shown"
shot 01-box

log "Enter: confirm"
focus_main
xdotool key Return
wait_for 60 "frame 0 confirmed (autosaved)" has_masks autosave 0 1
wait_idle 120 "frame 0 taught"

log "P: propagate forward"
focus_main
xdotool key p
sleep 8
shot 02-propagating
wait_for 600 "80 proposals (autosaved)" has_masks autosave 80 1
sleep 1.5 # the status bar's "Propagation done" stays 10 s
shot 03-propagated
wait_idle 120 "after the propagation"

log "N three times: next to review"
for _ in 1 2 3; do
    focus_main
    xdotool key n
    sleep 2
done
shot 04-next-to-review # the status bar's "Review 3 of 80 …" stays 8 s
wait_idle 60 "the third proposal to review shown"

log "Ctrl+Return: Accept proposals…"
focus_main
xdotool key ctrl+Return
wait_for 30 "the Accept proposals dialog" window_named "^Accept proposals of"
sleep 1
shot 05-accept-dialog
focus_named "^Accept proposals of"
xdotool key Return
wait_for 60 "80 proposals confirmed (autosaved)" has_masks autosave 0 81
sleep 2
shot 06-accepted
wait_idle 900 "the head taught on the accepted frames"
shot 07-taught

log "File ▸ Export COCO JSON…"
focus_main
xdotool mousemove $FILE_MENU_AT click 1
sleep 1.5
shot 08-file-menu
xdotool key c
wait_for 30 "the Export COCO JSON dialog" window_named "^Export COCO JSON"
sleep 1
shot 09-export-dialog
focus_named "^Export COCO JSON"
xdotool key Return
wait_for 120 "$WORK/$STEM.json written" test -s "$WORK/$STEM.json"
sleep 1.5
shot 10-exported

log "Ctrl+Shift+S: Save project as…"
focus_main
xdotool key ctrl+shift+s
wait_for 30 "the Save project as dialog" window_named "^Save project as"
focus_named "^Save project as"
xdotool key ctrl+a
xdotool type --delay 30 "$PROJECT"
sleep 0.5
shot 11-save-as-dialog
xdotool key Return
wait_for 120 "$PROJECT saved" has_masks project 0 81
sleep 1
shot 12-saved
wait_idle 120 "after saving"
quit_window

log "reopen: main.py --project $PROJECT"
start_window --project "$PROJECT"
wait_for 180 "the project's masks shown" window_named "^review_run.evosam$TITLE"
wait_idle 600 "the project and its head read"
shot 13-reopened
quit_window

log "COCO: $("$PY" -c "import json, sys; d = json.load(open(sys.argv[1])); print(len(d['images']), 'images,', len(d['annotations']), 'annotations,', [c['name'] for c in d['categories']])" "$WORK/$STEM.json")"
log "done: screenshots in $OUT"
