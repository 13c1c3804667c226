#!/usr/bin/python3
"""Accuracy floors of the element's default model on ground-truth scenes of every kind
(tests/gst-heatmap/scenes.py), its reports (lighting events, camera movement), and that a
luma-only model fails the chroma-only scene. Scenes are 320x180, 8 s, seed 1, cached in the build
directory; the element runs at downscale=0.5 (processing 160x90).

Floors sit a little under what the scene model measured on these scenes (docs/accuracy.md has
the figures and the bigger benchmark): a regression of a few hundredths fails. Measured with
the white-balance correction, the luma offset and noise floors 2.5/1.5 (2026-12-01; Pearson /
false heat): plain 0.745/0.011, chroma 0.974/0.019, lights 0.936/0.024, exposure 0.940/0.010,
shake 0.839/0.036, bump 0.849/0.027, shadows 0.790/0.031, pause 0.825/0.024, crowded
0.834/0.013 (at floors 3/2 shake, shadows and crowded read 0.849, 0.803, 0.843 here, while the
bigger benchmark gains on every kind).
The rendered shadows and pause scenes are not the same on every machine and run (their truth
is; x264enc gives the same stream for the same frames, so the difference is in the rendering,
cause not found): three renderings scored shadows 0.825 / 0.779 / 0.765 and pause 0.829 /
0.784 / 0.825, so their floors sit under the lowest of those.
mog2 (luma only) fails nearly all.
Set SCENES_PROPS (e.g. "method=mog2") to run the same floors on another configuration."""
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("scenes", os.path.join(HERE, "scenes.py"))
scenes = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scenes)
import cv2  # noqa: E402

cache = os.path.join(os.environ.get("BUILD_ROOT", "/tmp"), "tests", "scenes")
work = os.path.join(cache, "runs")
os.makedirs(work, exist_ok=True)
failures = []
DEFAULT = os.environ.get("SCENES_PROPS", "").split()

# kind: (Pearson at least, false heat at most), for the element at its defaults.
FLOORS = {
    "plain": (0.70, 0.02),
    "chroma": (0.95, 0.03),
    "lights": (0.89, 0.03),
    "exposure": (0.91, 0.03),
    "shake": (0.82, 0.04),
    "bump": (0.81, 0.03),
    "shadows": (0.74, 0.04),
    "pause": (0.76, 0.03),
    "crowded": (0.81, 0.02),
}


def run(kind, props, tag):
    base = scenes.ensure(kind, 1, 320, 180, 8, cache)
    truth = cv2.imread(base + ".truth.png", cv2.IMREAD_UNCHANGED)
    counts, fields = scenes.run_element(base + ".mp4", work, ["downscale=0.5"] + props, tag=tag)
    pr, fh = scenes.score(counts, truth)
    print(f"# {kind} {' '.join(props) or 'defaults'}: pearson {pr:.3f} false heat {fh:.3f} "
          f"lighting-events {fields.get('lighting-events')} camera-shift "
          f"{fields.get('camera-shift')} camera-moved {fields.get('camera-moved')}", flush=True)
    return pr, fh, fields


def check(cond, what):
    print(("ok - " if cond else "not ok - ") + what, flush=True)
    if not cond:
        failures.append(what)


for kind, (min_pr, max_fh) in FLOORS.items():
    pr, fh, f = run(kind, DEFAULT, kind + "-default")
    check(pr >= min_pr and fh <= max_fh,
          f"{kind}: Pearson {pr:.3f} >= {min_pr}, false heat {fh:.3f} <= {max_fh}")
    if kind == "lights":
        check(int(f.get("lighting-events", "0")) >= 1, "lights switched: lighting-events >= 1")
    elif kind == "bump":
        check(f.get("camera-moved") == "true", "camera knocked: camera-moved")
    elif kind in ("plain", "chroma", "pause", "crowded", "shadows"):
        check(f.get("camera-moved") == "false" and float(f.get("camera-shift", "1")) < 0.5,
              f"{kind}: fixed camera, no camera movement reported")
        check(f.get("lighting-events") == "0", f"{kind}: no lighting event")

pr, fh, _ = run("chroma", ["method=mog2"], "chroma-mog2")
check(pr < 0.5, "chroma-only walkers: the luma-only model (mog2) misses them (Pearson < 0.5)")
sys.exit(1 if failures else 0)
