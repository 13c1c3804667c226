// heatmap-core.h: the whole GObject-free heatmap core in one include (each part has its own
// header in this folder: frames, motion model, scene background, accumulator, render, image I/O).
#pragma once

#include "accumulator.h"
#include "frame.h"
#include "image-io.h"
#include "motion-model.h"
#include "render.h"
