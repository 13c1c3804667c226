#!/usr/bin/python3
"""Accuracy floors of method=scene on ground-truth scenes (tests/gst-heatmap/scenes.py), and
that a luma-only model fails the chroma-only scene. Scenes are 320x180, 8 s, cached in the build
directory; the element runs at downscale=0.5 (processing 160x90)."""
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


def run(kind, props, tag):
    base = scenes.ensure(kind, 1, 320, 180, 8, cache)
    truth = cv2.imread(base + ".truth.png", cv2.IMREAD_UNCHANGED)
    counts, fields = scenes.run_element(base + ".mp4", work, ["downscale=0.5"] + props, tag=tag)
    pr, fh = scenes.score(counts, truth)
    print(f"# {kind} {' '.join(props)}: pearson {pr:.3f} false heat {fh:.3f} {fields}")
    return pr, fh, fields


def check(cond, what):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failures.append(what)


pr, fh, _ = run("chroma", ["method=scene"], "chroma-scene")
check(pr >= 0.9 and fh <= 0.04, "chroma-only walkers: scene model Pearson >= 0.9, false heat <= 0.04")
pr, fh, _ = run("chroma", ["method=mog2"], "chroma-mog2")
check(pr < 0.5, "chroma-only walkers: the luma-only model (mog2) misses them (Pearson < 0.5)")
pr, fh, f = run("lights", ["method=scene"], "lights-scene")
check(int(f.get("lighting-events", "0")) >= 1, "lights switched: lighting-events >= 1")
check(pr >= 0.85 and fh <= 0.05, "lights switched: Pearson >= 0.85, false heat <= 0.05")
pr, fh, f = run("bump", ["method=scene"], "bump-scene")
check(f.get("camera-moved") == "true", "camera knocked: camera-moved")
check(pr >= 0.8 and fh <= 0.04, "camera knocked: heat on the true paths (Pearson >= 0.8, false heat <= 0.04)")
pr, fh, f = run("plain", ["method=scene"], "plain-scene")
check(f.get("camera-moved") == "false" and f.get("lighting-events") == "0",
      "plain scene: no camera movement, no lighting event")
sys.exit(1 if failures else 0)
