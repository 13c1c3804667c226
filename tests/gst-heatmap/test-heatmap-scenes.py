#!/usr/bin/python3
"""Accuracy floors of the element's default model on ground-truth scenes of every kind
(tests/gst-heatmap/scenes.py), its reports (lighting events, camera movement), and that a
luma-only model fails the chroma-only scene. Scenes are 320x180, 8 s, seed 1, cached in the build
directory; the element runs at downscale=0.5 (processing 160x90).

Floors sit a little under what the scene model measured on these scenes (docs/accuracy.md has
the figures and the bigger benchmark): a regression of a few hundredths fails. Measured
2026-12-01 (Pearson / false heat): plain 0.784/0.006, chroma 0.975/0.017, lights 0.945/0.024,
exposure 0.940/0.008, shake 0.836/0.032, bump 0.858/0.022, shadows 0.791/0.037, pause
0.843/0.017, crowded 0.846/0.011; the same to the last digit over three runs with fresh
renderings under different MALLOC_PERTURB_.
The renderings are reproducible since scenes.py turned x264's mb-tree off: Debian's libx264 read
unwritten memory there, so every `meson test` run (a random MALLOC_PERTURB_) encoded the same
frames differently, and pause scored between 0.784 and 0.829 from run to run. The floors keep
about 0.03 of room for other CPUs (SIMD paths in OpenCV's rendering); shadows' false heat may
reach 0.045 (it was 0.04, with 0.031 measured on an earlier rendering; 0.037 now).
After the spread changes (session 11: spreads learn within 9/16 of the threshold, the ghost pass
hands on at most a tight spread): plain 0.780/0.006, chroma 0.975/0.017, lights 0.946/0.027,
exposure 0.939/0.015, shake 0.856/0.034, bump 0.858/0.023, shadows 0.822/0.032, pause
0.841/0.018, crowded 0.876/0.011; floors raised where it gained: shake 0.81->0.83, shadows
0.76->0.79, crowded 0.82->0.85.
After the ghost pass took wide neighbours as witnesses only for start-up ghosts (session 11,
second round): plain 0.789/0.006, chroma 0.975/0.017, lights 0.946/0.027, exposure 0.948/0.014,
shake 0.867/0.033, bump 0.858/0.023, shadows 0.859/0.038, pause 0.842/0.018, crowded
0.890/0.011; floors raised: shadows 0.79->0.83, crowded 0.85->0.86 (the rule before, wide
witnesses everywhere, measures shadows 0.822: it fails the new floor).
After the shadow test's colour tolerance shrank with the darkening (session 12): plain
0.829/0.006, chroma 0.975/0.017, lights 0.956/0.026, exposure 0.951/0.014, shake 0.870/0.034,
bump 0.869/0.022, shadows 0.867/0.039, pause 0.865/0.017, crowded 0.900/0.011; floors raised:
plain 0.75->0.80, lights 0.91->0.92, bump 0.83->0.84, pause 0.81->0.83, crowded 0.86->0.87 (the
rule before measures plain 0.789: it fails the new floor).
With the shadow test's colour tolerance at 1.5 times the background test's threshold (it was 2):
plain 0.839/0.006, chroma 0.975/0.017, lights 0.957/0.026, exposure 0.953/0.014, shake
0.872/0.036, bump 0.876/0.022, shadows 0.852/0.040, pause 0.872/0.017, crowded 0.904/0.011
(shadows lost 0.015 here, one seed at 80x45, while the bench's shadows rose 0.936 -> 0.952);
floor raised: pause 0.83->0.84.
With a pixel that took a neighbour's scene settling only within 2 thresholds (it was 4):
plain 0.838/0.006, chroma 0.975/0.017, lights 0.959/0.027, exposure 0.964/0.014, shake
0.896/0.035, bump 0.875/0.022, shadows 0.863/0.040, pause 0.916/0.021, crowded 0.908/0.011;
floors raised: exposure 0.91->0.93, shake 0.83->0.86, pause 0.84->0.88 (the rule before
measures pause 0.872, shake 0.872: it fails both).
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
    "plain": (0.80, 0.02),
    "chroma": (0.95, 0.03),
    "lights": (0.92, 0.03),
    "exposure": (0.94, 0.03),
    "shake": (0.87, 0.04),
    "bump": (0.87, 0.03),
    "shadows": (0.86, 0.045),
    "pause": (0.88, 0.03),
    "crowded": (0.87, 0.02),
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
