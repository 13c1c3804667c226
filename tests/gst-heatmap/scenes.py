#!/usr/bin/python3
"""Ground-truth surveillance scenes for the heatmap's accuracy: rendered, encoded by x264enc, scored.

A scene is a textured floor with shelves seen from above, people-like walkers (a body ellipse and a
head) moving on paths, sensor noise and optics blur, encoded to H.264 MP4 by a real GStreamer
pipeline (fdsrc ! rawvideoparse ! videoconvert ! x264enc ! mp4mux). Beside the MP4 goes the truth:
a 16-bit PNG at the video's size whose value is the number of frames in which a walker covered the
pixel, in the coordinates of the first frame (so a camera that shakes or is knocked must be
compensated to score well).

The encode is reproducible: x264's macroblock tree (mb-tree, on by default) reads memory it never
wrote in Debian 12's libx264, so the same frames gave a different stream for every
MALLOC_PERTURB_ (which `meson test` sets at random). It is off here (ENCODER); a cached scene
made with other settings is rendered again.

Kinds (each varies floor texture, walker sizes and speeds with the seed):
  plain     slow lighting drift
  chroma    walkers whose luma equals the floor's; only their colour differs
  lights    the lights go on (+25..50 %) mid-clip and off again later
  exposure  auto-exposure and white-balance hunting
  shake     the camera jitters by a few pixels every frame
  bump      the camera is knocked once and stays shifted
  shadows   soft cast shadows beside the walkers (not motion)
  pause     walkers that stop for a few seconds
  crowded   many walkers at once

CLI:  scenes.py make KIND SEED OUT_DIR [--size WxH] [--seconds S]   -> OUT_DIR/KIND-SEED.{mp4,truth.png,json}
      scenes.py score COUNTS.png TRUTH.png                         -> pearson false_heat
Uses Debian's python3-opencv and python3-numpy only.
"""
import argparse
import json
import math
import os
import subprocess
import sys

import cv2
import numpy as np

KINDS = ["plain", "chroma", "lights", "exposure", "shake", "bump", "shadows", "pause", "crowded"]
FPS = 25
# x264enc settings (see above for mb-tree=false).
ENCODER = "speed-preset=veryfast pass=qual quantizer=24 key-int-max=50 mb-tree=false"


def _floor(rng, w, h):
    """A textured floor (blobs at two scales, grain, tiles or not) with a few dark shelves."""
    def blobs(cells, lo, hi):
        small = rng.uniform(lo, hi, (max(2, h // cells), max(2, w // cells), 3)).astype(np.float32)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)

    tint = rng.uniform(0.8, 1.2, 3).astype(np.float32)
    base = rng.uniform(100, 150)
    floor = (blobs(rng.integers(24, 64), -25, 25) + blobs(rng.integers(4, 10), -10, 10) + base) * tint
    if rng.random() < 0.5:  # tiles: thin grout lines
        step = int(rng.integers(max(8, w // 24), max(9, w // 10)))
        floor[::step, :, :] *= 0.8
        floor[:, ::step, :] *= 0.8
    floor += rng.normal(0, rng.uniform(3, 8), (h, w, 1)).astype(np.float32)
    for _ in range(int(rng.integers(2, 5))):
        x0, y0 = int(rng.integers(0, w - w // 8)), int(rng.integers(0, h - h // 8))
        sw, sh = int(rng.integers(w // 20, w // 8)), int(rng.integers(h // 10, h // 4))
        colour = rng.uniform(30, 90, 3)
        cv2.rectangle(floor, (x0, y0), (x0 + sw, y0 + sh), colour.tolist(), -1)
        cv2.rectangle(floor, (x0, y0), (x0 + sw, y0 + sh), (200, 200, 200), 1)
    return np.clip(floor, 0, 255)


class Walker:
    def __init__(self, rng, w, h, frames, size, pause):
        self.size = size  # shoulder width in pixels
        margin = size
        # A polyline through 2-4 points; the walker enters at its start and leaves at its end.
        n = int(rng.integers(2, 5))
        self.points = np.stack([rng.uniform(-margin, w + margin, n), rng.uniform(-margin, h + margin, n)], 1)
        self.points[0] = self._edge_point(rng, w, h, margin)
        self.points[-1] = self._edge_point(rng, w, h, margin)
        self.speed = rng.uniform(0.6, 2.2) * w / 320.0  # pixels per frame
        self.start = int(rng.integers(-frames // 3, frames * 2 // 3))
        self.pause_at = rng.uniform(0.3, 0.7) if pause else None
        self.pause_frames = int(rng.integers(2 * FPS, 4 * FPS)) if pause else 0
        self.colour = rng.uniform(20, 235, 3)
        self.head = rng.uniform(30, 200) * np.array([0.8, 0.9, 1.0])
        seg = np.linalg.norm(np.diff(self.points, axis=0), axis=1)
        self.cum = np.concatenate([[0], np.cumsum(seg)])

    @staticmethod
    def _edge_point(rng, w, h, m):
        side = rng.integers(0, 4)
        t = rng.random()
        return [(-m, t * h), (w + m, t * h), (t * w, -m), (t * w, h + m)][side]

    def where(self, frame):
        """(x, y, heading) at `frame`, or None when off the path."""
        t = frame - self.start
        if t < 0:
            return None
        d = t * self.speed
        if self.pause_at is not None:
            at = self.pause_at * self.cum[-1]
            if d > at:
                d = max(at, d - self.pause_frames * self.speed)
        if d > self.cum[-1]:
            return None
        i = min(int(np.searchsorted(self.cum, d, side="right")) - 1, len(self.points) - 2)
        f = (d - self.cum[i]) / max(1e-6, self.cum[i + 1] - self.cum[i])
        p = self.points[i] + f * (self.points[i + 1] - self.points[i])
        v = self.points[i + 1] - self.points[i]
        return p[0], p[1], math.degrees(math.atan2(v[1], v[0]))

    def draw(self, mask, colour_img, pos):
        x, y, a = pos
        c = (int(round(x * 4)), int(round(y * 4)))
        body = (int(self.size * 4 * 0.32), int(self.size * 4 * 0.5))
        cv2.ellipse(mask, c, body, a, 0, 360, 255, -1, cv2.LINE_8, 2)
        cv2.ellipse(colour_img, c, body, a, 0, 360, self.colour.tolist(), -1, cv2.LINE_8, 2)
        cv2.circle(colour_img, c, int(self.size * 4 * 0.22), self.head.tolist(), -1, cv2.LINE_8, 2)


def render(kind, seed, w, h, seconds, out_dir):
    rng = np.random.default_rng([KINDS.index(kind), seed])
    frames = int(seconds * FPS)
    margin = max(8, w // 20)
    world = _floor(rng, w + 2 * margin, h + 2 * margin)
    n_walkers = {"crowded": int(rng.integers(14, 22))}.get(kind, int(rng.integers(4, 8)))
    size_lo, size_hi = w / 28.0, w / 14.0
    walkers = [Walker(rng, w, h, frames, rng.uniform(size_lo, size_hi), kind == "pause" or
                      (kind == "crowded" and rng.random() < 0.3)) for _ in range(n_walkers)]
    for wk in walkers:  # walkers are in first-frame coordinates; the world has a margin
        wk.points += margin
    truth = np.zeros((h, w), np.uint16)
    events = {}
    # Camera offsets (first frame: (0, 0)); lighting gains per frame.
    offsets = np.zeros((frames, 2))
    if kind == "shake":
        amp = rng.uniform(1.5, 3.0) * w / 320.0
        offsets = rng.uniform(-amp, amp, (frames, 2))
        offsets[0] = 0
    if kind == "bump":
        at = int(frames * rng.uniform(0.35, 0.55))
        shift = rng.uniform(3, 6, 2) * rng.choice([-1, 1], 2) * w / 320.0
        offsets[at:] = shift
        events["bump_frame"] = at
        events["bump_shift"] = shift.tolist()
    gain = np.ones((frames, 3))
    t = np.arange(frames) / FPS
    if kind == "plain":
        gain *= (1.0 + rng.uniform(-0.08, 0.08) * t / max(t[-1], 1))[:, None]
    if kind == "lights":
        on, off = int(frames * rng.uniform(0.25, 0.4)), int(frames * rng.uniform(0.6, 0.75))
        step = rng.uniform(1.25, 1.5)
        gain[on:off] *= step
        events.update(lights_on=on, lights_off=off, gain=step)
    if kind == "exposure":
        period = rng.uniform(2.0, 4.0)
        g = 1.0 + rng.uniform(0.12, 0.25) * np.sin(2 * math.pi * t / period)
        wb = rng.uniform(0.05, 0.12) * np.sin(2 * math.pi * t / rng.uniform(3.0, 6.0))
        gain = np.stack([g * (1 + wb), g, g * (1 - wb)], 1)  # B, G, R gains
    # The lights are not uniform: a broad spatial gradient that the gain scales.
    ys, xs = np.mgrid[0:h + 2 * margin, 0:w + 2 * margin].astype(np.float32)
    shade = 1.0 + 0.15 * np.cos(xs / (w + 2 * margin) * math.pi * rng.uniform(0.5, 1.5))
    lit_world = world * shade[..., None]

    enc = subprocess.Popen(
        ["gst-launch-1.0", "-q", "fdsrc", "fd=0", "!", "rawvideoparse", "format=bgr",
         f"width={w}", f"height={h}", f"framerate={FPS}/1", "!", "videoconvert", "!",
         "video/x-raw,format=I420", "!", "x264enc", *ENCODER.split(), "!", "mp4mux", "!",
         "filesink", f"location={os.path.join(out_dir, f'{kind}-{seed}.mp4')}"],
        stdin=subprocess.PIPE)
    noise_sigma = rng.uniform(1.5, 3.0)
    ww, wh = w + 2 * margin, h + 2 * margin
    for i in range(frames):
        scene = lit_world.copy()
        mask4 = np.zeros((wh, ww), np.uint8)  # walkers, at world size (drawn with 2-bit subpixels)
        colour = np.zeros((wh, ww, 3), np.float32)
        shadow = np.zeros((wh, ww), np.float32)
        for wk in walkers:
            pos = wk.where(i)
            if pos is None:
                continue
            wk.draw(mask4, colour, pos)
            if kind == "shadows":
                x, y, _ = pos
                c = (int(round((x + wk.size * 0.7) * 4)), int(round((y + wk.size * 0.4) * 4)))
                cv2.ellipse(shadow, c, (int(wk.size * 4 * 0.45), int(wk.size * 4 * 0.7)), 30, 0, 360,
                            1.0, -1, cv2.LINE_8, 2)
        if kind == "shadows":
            k = int(max(3, wk.size // 2)) | 1
            shadow = cv2.GaussianBlur(shadow, (k, k), 0)
            scene *= (1.0 - 0.45 * shadow)[..., None]
        on = mask4 > 0
        if kind == "chroma":
            # Same luma as the floor under it, the walker's own chroma (BT.601, as x264 sees it).
            ycc = cv2.cvtColor(np.clip(scene, 0, 255).astype(np.uint8), cv2.COLOR_BGR2YCrCb).astype(np.float32)
            wcc = cv2.cvtColor(np.clip(colour, 0, 255).astype(np.uint8), cv2.COLOR_BGR2YCrCb).astype(np.float32)
            chroma = 128 + np.clip(wcc[..., 1:] - 128, -60, 60)
            ycc[..., 1:][on] = chroma[on]
            # keep the walker inside the gamut so that the luma survives the round trip
            out = cv2.cvtColor(np.clip(ycc, 0, 255).astype(np.uint8), cv2.COLOR_YCrCb2BGR).astype(np.float32)
            scene[on] = out[on]
        else:
            # Walkers are lit by the same lights as the floor.
            scene[on] = (colour * shade[..., None])[on]
        scene *= gain[i][None, None, :]
        # The camera: world -> frame, shifted by the offset (sub-pixel), optics blur, noise.
        dx, dy = offsets[i]
        m = np.float32([[1, 0, -(margin + dx)], [0, 1, -(margin + dy)]])
        frame = cv2.warpAffine(scene, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        frame = cv2.GaussianBlur(frame, (0, 0), 0.7)
        frame += rng.normal(0, noise_sigma, frame.shape).astype(np.float32)
        enc.stdin.write(np.clip(frame, 0, 255).astype(np.uint8).tobytes())
        truth += on[margin:margin + h, margin:margin + w]
    enc.stdin.close()
    if enc.wait() != 0:
        raise SystemExit(f"scenes.py: the encoder failed for {kind}-{seed}")
    base = os.path.join(out_dir, f"{kind}-{seed}")
    cv2.imwrite(base + ".truth.png", truth)
    with open(base + ".json", "w") as f:
        json.dump({"kind": kind, "seed": seed, "width": w, "height": h, "frames": frames,
                   "encoder": ENCODER,
                   "walkers": n_walkers, **events}, f)
    return base


def ensure(kind, seed, w, h, seconds, out_dir):
    """Renders the scene unless its files are already there (the cache); returns the base path."""
    base = os.path.join(out_dir, f"{kind}-{seed}")
    meta = base + ".json"
    if os.path.exists(meta) and os.path.exists(base + ".mp4") and os.path.exists(base + ".truth.png"):
        with open(meta) as f:
            m = json.load(f)
        if (m["width"] == w and m["height"] == h and m["frames"] == int(seconds * FPS)
                and m.get("encoder") == ENCODER):
            return base
    os.makedirs(out_dir, exist_ok=True)
    return render(kind, seed, w, h, seconds, out_dir)


def score(counts, truth):
    """(pearson, false_heat) of counts against truth resized (area mean) to the counts' size."""
    counts = counts.astype(np.float64)
    t = cv2.resize(truth.astype(np.float32), (counts.shape[1], counts.shape[0]),
                   interpolation=cv2.INTER_AREA).astype(np.float64)
    total = counts.sum()
    false_heat = float(counts[t == 0].sum() / total) if total > 0 else 0.0
    if counts.std() == 0 or t.std() == 0:
        return 0.0, false_heat
    return float(np.corrcoef(counts.ravel(), t.ravel())[0, 1]), false_heat


def run_element(video, out_dir, props=(), tag="element"):
    """Runs the heatmap element on `video` (gst-launch-1.0, the plugin from GST_PLUGIN_PATH);
    returns (counts, message fields as a dict of strings)."""
    raw = os.path.join(out_dir, tag + ".png")
    cmd = ["gst-launch-1.0", "-m", "filesrc", f"location={video}", "!", "qtdemux", "!", "h264parse",
           "!", "avdec_h264", "!", "heatmap", f"raw-location={raw}",
           f"location={os.path.join(out_dir, tag + '.jpg')}", *props, "!", "fakesink"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"heatmap pipeline failed on {video}: {out.stderr.strip()[-500:]}")
    fields = {}
    for line in out.stdout.splitlines():
        if "heatmap, " in line and "location=" in line:
            body = line[line.index("heatmap, ") + len("heatmap, "):]
            for part in body.split(", "):
                if "=" in part:
                    k, v = part.split("=", 1)
                    fields[k.strip()] = v.split(")", 1)[-1].rstrip(";").strip()
    return cv2.imread(raw, cv2.IMREAD_UNCHANGED), fields


def run_old_tool(video, downscale):
    """The old Python tool's steps (../shared/anchors/seed_reference.py): MOG2 on the small
    colour frame, shadows dropped, 3x3 elliptic opening; counts before the blur."""
    cap = cv2.VideoCapture(video)
    sub = cv2.createBackgroundSubtractorMOG2(history=500, varThreshold=16, detectShadows=True)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    acc = None
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        small = cv2.resize(frame, None, fx=downscale, fy=downscale, interpolation=cv2.INTER_AREA)
        fg = sub.apply(small)
        _, fg = cv2.threshold(fg, 200, 255, cv2.THRESH_BINARY)
        fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, kernel)
        acc = np.zeros(fg.shape, np.uint32) if acc is None else acc
        acc += fg > 0
    return acc


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    mk = sub.add_parser("make")
    mk.add_argument("kind", choices=KINDS)
    mk.add_argument("seed", type=int)
    mk.add_argument("out_dir")
    mk.add_argument("--size", default="320x180")
    mk.add_argument("--seconds", type=float, default=10.0)
    sc = sub.add_parser("score")
    sc.add_argument("counts")
    sc.add_argument("truth")
    a = p.parse_args()
    if a.cmd == "make":
        w, h = (int(v) for v in a.size.split("x"))
        print(ensure(a.kind, a.seed, w, h, a.seconds, a.out_dir))
    else:
        c = cv2.imread(a.counts, cv2.IMREAD_UNCHANGED)
        t = cv2.imread(a.truth, cv2.IMREAD_UNCHANGED)
        if c is None or t is None:
            sys.exit("scenes.py: cannot read " + (a.counts if c is None else a.truth))
        print("%.4f %.4f" % score(c, t))


if __name__ == "__main__":
    main()
