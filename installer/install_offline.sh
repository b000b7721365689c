#!/usr/bin/env bash
# Install EvoSAM Annotator from this offline bundle into a private virtual environment, without
# admin rights and without network, add launchers, and check the installation.
# Idempotent: running it again repairs or upgrades in place. See README.txt next to it.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: install_offline.sh [--venv DIR] [--python PYTHON] [--no-launcher] [--no-check] [--uninstall]

  --venv DIR      private environment (default: ~/.local/share/evosam-annotator/venv;
                  env EVOSAM_INSTALL_VENV)
  --python PY     Python interpreter to create it with (default: python3.11, else python3;
                  env PYTHON); must match the bundle's Python version
  --no-launcher   do not create ~/.local/bin launchers and the menu entry
  --no-check      skip the final check (evosam --version, doctor, a sample segmentation)
  --uninstall     remove the environment, launchers and menu entry (keeps settings, checkpoints)

Launcher folders: EVOSAM_BIN_DIR (default ~/.local/bin), EVOSAM_APPLICATIONS_DIR
(default ${XDG_DATA_HOME:-~/.local/share}/applications).
EOF
}

die() { echo "install_offline: error: $*" >&2; exit 2; }
say() { echo "[install] $*"; }

BUNDLE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DATA_HOME=${XDG_DATA_HOME:-$HOME/.local/share}
VENV=${EVOSAM_INSTALL_VENV:-$DATA_HOME/evosam-annotator/venv}
BIN_DIR=${EVOSAM_BIN_DIR:-$HOME/.local/bin}
APPS_DIR=${EVOSAM_APPLICATIONS_DIR:-$DATA_HOME/applications}
PY=${PYTHON:-}
LAUNCHER=1 CHECK=1 UNINSTALL=0
MARK="# evosam-annotator offline launcher"

while [ $# -gt 0 ]; do
  case "$1" in
    --venv) [ $# -ge 2 ] || die "--venv needs a folder"; VENV=$2; shift 2 ;;
    --python) [ $# -ge 2 ] || die "--python needs an interpreter"; PY=$2; shift 2 ;;
    --no-launcher) LAUNCHER=0; shift ;;
    --no-check) CHECK=0; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
case "$VENV" in /*) ;; *) VENV="$PWD/$VENV" ;; esac
DESKTOP="$APPS_DIR/evosam-annotator.desktop"

if [ "$UNINSTALL" = 1 ]; then
  if [ -f "$VENV/.evosam-offline-install" ]; then
    rm -rf -- "$VENV"; say "removed $VENV"
  elif [ -e "$VENV" ]; then
    die "$VENV was not made by this installer (no .evosam-offline-install); remove it yourself"
  fi
  for f in "$BIN_DIR/evosam-annotator" "$BIN_DIR/evosam" "$DESKTOP"; do
    if [ -f "$f" ] && grep -q "evosam-annotator offline launcher" "$f"; then rm -f -- "$f"; say "removed $f"; fi
  done
  say "kept your settings and checkpoints (see 'evosam doctor' paths; delete them by hand if wanted)"
  exit 0
fi

if [ ! -d "$BUNDLE/wheels" ] || [ ! -f "$BUNDLE/requirements.txt" ] || [ ! -f "$BUNDLE/manifest.json" ]; then
  die "$BUNDLE is not an offline bundle (wheels/, requirements.txt, manifest.json missing)"
fi
if [ -z "$PY" ]; then
  if command -v python3.11 >/dev/null 2>&1; then PY=python3.11; else PY=python3; fi
fi
command -v "$PY" >/dev/null 2>&1 || die "Python not found ($PY); install Python 3.11 or pass --python PATH"
read -r WANT_PY VERSION < <("$PY" - "$BUNDLE/manifest.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
print(m["python"], m["version"])
EOF
)
HAVE_PY=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[ "$HAVE_PY" = "$WANT_PY" ] || die "this bundle is for Python $WANT_PY, $PY is $HAVE_PY (pass --python PATH)"

# pip: nothing but this bundle. No index, no config files, no user or site constraints.
export PIP_CONFIG_FILE=/dev/null PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
unset PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_FIND_LINKS PIP_CONSTRAINT PIP_REQUIREMENT PIP_REQUIRE_VIRTUALENV

if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV with Python $HAVE_PY"
  mkdir -p "$(dirname "$VENV")"
  "$PY" -m venv "$VENV" 2>/dev/null \
    || die "could not create a virtual environment with $PY (on Debian/Ubuntu the python$HAVE_PY-venv package is needed)"
fi
touch "$VENV/.evosam-offline-install"
VPY="$VENV/bin/python"
say "installing evosam-annotator $VERSION from $BUNDLE/wheels (no network)"
start=$(date +%s)
"$VPY" -m pip install -q --no-index --find-links "$BUNDLE/wheels" --require-hashes -r "$BUNDLE/requirements.txt" \
  || die "pip could not install from the bundle (see above)"
# the same version may have been rebuilt: always refresh the application itself
"$VPY" -m pip install -q --no-index --no-deps --force-reinstall "$BUNDLE"/wheels/evosam_annotator-"$VERSION"-*.whl \
  || die "pip could not install the evosam-annotator wheel"
"$VPY" -m pip check >/dev/null || { "$VPY" -m pip check >&2; die "installed packages are inconsistent"; }
say "installed in $(( $(date +%s) - start )) s"

if [ "$LAUNCHER" = 1 ]; then
  case "$VENV$BIN_DIR" in *[\"\`\$\\]*) die "launcher paths must not contain quotes, \$, \` or backslashes" ;; esac
  mkdir -p "$BIN_DIR" "$APPS_DIR"
  for cmd in evosam-annotator evosam; do
    printf '#!/bin/sh\n%s\nexec "%s/bin/%s" "$@"\n' "$MARK" "$VENV" "$cmd" > "$BIN_DIR/$cmd.tmp"
    chmod 755 "$BIN_DIR/$cmd.tmp"; mv -f "$BIN_DIR/$cmd.tmp" "$BIN_DIR/$cmd"
  done
  cat > "$DESKTOP.tmp" <<EOF
[Desktop Entry]
$MARK
Type=Application
Name=EvoSAM Annotator
Comment=Annotate vessels in laparoscopic video with SAM
Exec="$VENV/bin/evosam-annotator" %f
Terminal=false
Categories=Science;MedicalSoftware;
MimeType=video/mp4;video/x-msvideo;video/quicktime;video/x-matroska;
EOF
  mv -f "$DESKTOP.tmp" "$DESKTOP"
  if command -v update-desktop-database >/dev/null 2>&1; then update-desktop-database -q "$APPS_DIR" 2>/dev/null || true; fi
  say "launchers: $BIN_DIR/evosam-annotator, $BIN_DIR/evosam; menu entry: $DESKTOP"
  case ":$PATH:" in *":$BIN_DIR:"*) ;; *) say "note: $BIN_DIR is not on your PATH; add it, or use the menu entry" ;; esac
fi

if [ "$CHECK" = 1 ]; then
  work=$(mktemp -d); trap 'rm -rf -- "$work"' EXIT
  cd "$work"   # nothing of a source checkout may shadow the installed package
  got=$("$VENV/bin/evosam" --version) || die "evosam --version failed"
  [ "$got" = "evosam $VERSION" ] || die "evosam --version says '$got', expected 'evosam $VERSION'"
  say "check: $got"
  "$VENV/bin/evosam" doctor | sed 's/^/[install]   /'
  "$VPY" -c "import PySide6.QtWidgets, app.main_window" 2>/dev/null \
    || die "the GUI does not import (PySide6 / system libraries); run: $VPY -c 'import app.main_window'"
  "$VENV/bin/evosam-annotator" --help >/dev/null || die "evosam-annotator --help failed"
  say "check: the GUI imports and its launcher runs"
  read -ra box < <("$VPY" - "$work" <<'EOF'
import sys
from pathlib import Path
import cv2, numpy as np
from evosam.sample import default_sample_path
video = default_sample_path()
ok, frame = cv2.VideoCapture(str(video)).read()
if not ok:
    sys.exit(f"cannot read the bundled sample {video}")
cv2.imwrite(str(Path(sys.argv[1]) / "frame.png"), frame)
truth = cv2.imread(str(video.parent / "masks" / "000000.png"), cv2.IMREAD_GRAYSCALE) > 0
ys, xs = np.nonzero(truth)
print(xs.min(), ys.min(), xs.max(), ys.max())
EOF
)
  [ "${#box[@]}" = 4 ] || die "could not read a frame of the bundled sample"
  "$VENV/bin/evosam" segment frame.png --box "${box[@]}" --device cpu --out mask.png \
    | sed 's/^/[install] check: segment: /' || die "evosam segment on the bundled sample failed"
  "$VPY" - "${box[@]}" <<'EOF' || die "the sample segmentation is wrong"
import sys
import cv2, numpy as np
from evosam.sample import default_sample_path
x0, y0, x1, y1 = map(int, sys.argv[1:5])
mask = cv2.imread("mask.png", cv2.IMREAD_UNCHANGED)
truth = cv2.imread(str(default_sample_path().parent / "masks" / "000000.png"), cv2.IMREAD_GRAYSCALE) > 0
on = mask > 0
inside = on[y0 : y1 + 1, x0 : x1 + 1].sum() / max(1, on.sum())
dice = 2 * (on & truth).sum() / max(1, on.sum() + truth.sum())
print(f"[install] check: mask {mask.shape[1]}x{mask.shape[0]}, {on.sum()} pixels, {inside:.0%} inside the box, "
      f"Dice {dice:.2f} with the sample's vessel tree (LiteMedSAM alone, one box)")
if mask.shape != truth.shape or set(np.unique(mask)) - {0, 255} or on.sum() == 0 or inside < 0.9 or dice < 0.05:
    sys.exit(1)
EOF
  say "check passed"
fi
say "done: start with 'evosam-annotator' (or $VENV/bin/evosam-annotator); uninstall with $0 --uninstall"
