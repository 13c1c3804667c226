// gstheatmap.h: the `heatmap` video filter, which passes video through and writes a motion heatmap
// at EOS or periodically, optionally drawing it onto the video.
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

// Values are the OpenCV cv::ColormapTypes numbers, so they can be handed to the core unchanged.
typedef enum {
  GST_HEATMAP_COLORMAP_AUTUMN = 0,
  GST_HEATMAP_COLORMAP_BONE = 1,
  GST_HEATMAP_COLORMAP_JET = 2,
  GST_HEATMAP_COLORMAP_WINTER = 3,
  GST_HEATMAP_COLORMAP_RAINBOW = 4,
  GST_HEATMAP_COLORMAP_OCEAN = 5,
  GST_HEATMAP_COLORMAP_SUMMER = 6,
  GST_HEATMAP_COLORMAP_SPRING = 7,
  GST_HEATMAP_COLORMAP_COOL = 8,
  GST_HEATMAP_COLORMAP_HSV = 9,
  GST_HEATMAP_COLORMAP_PINK = 10,
  GST_HEATMAP_COLORMAP_HOT = 11,
  GST_HEATMAP_COLORMAP_PARULA = 12,
  GST_HEATMAP_COLORMAP_MAGMA = 13,
  GST_HEATMAP_COLORMAP_INFERNO = 14,
  GST_HEATMAP_COLORMAP_PLASMA = 15,
  GST_HEATMAP_COLORMAP_VIRIDIS = 16,
  GST_HEATMAP_COLORMAP_CIVIDIS = 17,
  GST_HEATMAP_COLORMAP_TWILIGHT = 18,
  GST_HEATMAP_COLORMAP_TWILIGHT_SHIFTED = 19,
  GST_HEATMAP_COLORMAP_TURBO = 20,
  GST_HEATMAP_COLORMAP_DEEPGREEN = 21,
} GstHeatmapColormap;

typedef enum {
  GST_HEATMAP_METHOD_MOG2 = 0,
  GST_HEATMAP_METHOD_KNN = 1,
  GST_HEATMAP_METHOD_SCENE = 2,
} GstHeatmapMethod;

// What a periodic heatmap covers (heatmap::WindowMode).
typedef enum {
  GST_HEATMAP_WINDOW_CUMULATIVE = 0,
  GST_HEATMAP_WINDOW_RESET = 1,
  GST_HEATMAP_WINDOW_DECAY = 2,
} GstHeatmapWindow;

#define GST_TYPE_HEATMAP_WINDOW (gst_heatmap_window_get_type())
GType gst_heatmap_window_get_type(void);

// When the motion model may skip frames it has no time for, rather than hold up the video.
typedef enum {
  GST_HEATMAP_SKIP_FRAMES_AUTO = 0,       // on live sources only (the latency query says live)
  GST_HEATMAP_SKIP_FRAMES_NEVER = 1,      // every frame is analysed; the video waits if need be
  GST_HEATMAP_SKIP_FRAMES_WHEN_BUSY = 2,  // on any source
} GstHeatmapSkipFrames;

#define GST_TYPE_HEATMAP_SKIP_FRAMES (gst_heatmap_skip_frames_get_type())
GType gst_heatmap_skip_frames_get_type(void);

#define GST_TYPE_HEATMAP_COLORMAP (gst_heatmap_colormap_get_type())
GType gst_heatmap_colormap_get_type(void);

#define GST_TYPE_HEATMAP_METHOD (gst_heatmap_method_get_type())
GType gst_heatmap_method_get_type(void);

#define GST_TYPE_HEATMAP (gst_heatmap_get_type())
G_DECLARE_FINAL_TYPE(GstHeatmap, gst_heatmap, GST, HEATMAP, GstVideoFilter)

GST_ELEMENT_REGISTER_DECLARE(heatmap);

G_END_DECLS
