// rtsp-test-server.cpp: a camera stand-in for the tests: serves a real H.264 clip over RTSP on
// 127.0.0.1, looping it forever like a camera that never stops.
//
// Usage: rtsp-test-server CLIP.avi|CLIP.mp4 [PORT]
// Prints "rtsp://127.0.0.1:PORT/camera" on stdout once it accepts clients (PORT 0 or none: a
// free port), then serves until SIGTERM/SIGINT.
//
// The clip's H.264 access units are read once into memory (filesrc ! decodebin's demuxer !
// h264parse ! appsink, built with the API; the path never becomes pipeline text) and fed to
// the RTSP media through appsrc, with timestamps continuing across loops, so every client sees
// one endless stream that starts at a keyframe.
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>
#include <glib-unix.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct Clip {
  std::vector<GstSample *> samples;  // access units, byte-stream with SPS/PPS at each keyframe
  GstClockTime duration = 0;         // of one loop
  GstCaps *caps = nullptr;
};

GstElement *make(const char *factory) {
  GstElement *e = gst_element_factory_make(factory, nullptr);
  if (e == nullptr) {
    std::fprintf(stderr, "rtsp-test-server: GStreamer element %s is missing\n", factory);
    std::exit(1);
  }
  return e;
}

void on_demux_pad(GstElement *, GstPad *pad, gpointer parse) {
  GstCaps *caps = gst_pad_get_current_caps(pad);
  const bool h264 =
      caps != nullptr && gst_structure_has_name(gst_caps_get_structure(caps, 0), "video/x-h264");
  if (caps != nullptr)
    gst_caps_unref(caps);
  if (!h264)
    return;  // the clip's audio track is not served
  GstPad *sink = gst_element_get_static_pad(GST_ELEMENT(parse), "sink");
  if (!gst_pad_is_linked(sink))
    gst_pad_link(pad, sink);
  gst_object_unref(sink);
}

// Reads every H.264 access unit of the clip.
Clip load_clip(const char *path) {
  GstElement *pipeline = gst_pipeline_new("load");
  GstElement *src = make("filesrc");
  GstElement *demux = make(g_str_has_suffix(path, ".avi") ? "avidemux" : "qtdemux");
  GstElement *parse = make("h264parse");
  GstElement *capsfilter = make("capsfilter");
  GstElement *sink = make("appsink");
  g_object_set(src, "location", path, nullptr);
  g_object_set(parse, "config-interval", -1, nullptr);
  GstCaps *want = gst_caps_from_string("video/x-h264,stream-format=byte-stream,alignment=au");
  g_object_set(capsfilter, "caps", want, nullptr);
  gst_caps_unref(want);
  g_object_set(sink, "sync", FALSE, "max-buffers", 0, nullptr);
  gst_bin_add_many(GST_BIN(pipeline), src, demux, parse, capsfilter, sink, nullptr);
  gst_element_link(src, demux);
  gst_element_link_many(parse, capsfilter, sink, nullptr);
  g_signal_connect(demux, "pad-added", G_CALLBACK(on_demux_pad), parse);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  Clip clip;
  GstClockTime last_end = 0;
  while (GstSample *sample = gst_app_sink_pull_sample(GST_APP_SINK(sink))) {
    GstBuffer *b = gst_sample_get_buffer(sample);
    const GstClockTime pts = GST_BUFFER_PTS(b);
    const GstClockTime dur = GST_BUFFER_DURATION_IS_VALID(b) ? GST_BUFFER_DURATION(b) : 0;
    if (GST_CLOCK_TIME_IS_VALID(pts) && pts + dur > last_end)
      last_end = pts + dur;
    if (clip.caps == nullptr)
      clip.caps = gst_caps_ref(gst_sample_get_caps(sample));
    clip.samples.push_back(sample);
  }
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *err = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  if (err != nullptr) {
    GError *e = nullptr;
    gst_message_parse_error(err, &e, nullptr);
    std::fprintf(stderr, "rtsp-test-server: cannot read %s: %s\n", path, e->message);
    std::exit(1);
  }
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  if (clip.samples.empty() || last_end == 0) {
    std::fprintf(stderr, "rtsp-test-server: no timed H.264 video in %s\n", path);
    std::exit(1);
  }
  clip.duration = last_end;
  return clip;
}

struct Feeder {
  const Clip *clip;
  std::size_t next = 0;
  guint64 loop = 0;
};

// appsrc asks for data: hand it the next access unit, shifted by the loops already played.
void need_data(GstElement *appsrc, guint, gpointer data) {
  auto *f = static_cast<Feeder *>(data);
  const Clip &clip = *f->clip;
  GstBuffer *in = gst_sample_get_buffer(clip.samples[f->next]);
  GstBuffer *out = gst_buffer_copy(in);
  const GstClockTime shift = f->loop * clip.duration;
  if (GST_BUFFER_PTS_IS_VALID(out))
    GST_BUFFER_PTS(out) += shift;
  if (GST_BUFFER_DTS_IS_VALID(out))
    GST_BUFFER_DTS(out) += shift;
  if (f->next == 0 && f->loop > 0)
    GST_BUFFER_FLAG_SET(out, GST_BUFFER_FLAG_DISCONT);
  gst_app_src_push_buffer(GST_APP_SRC(appsrc), out);
  if (++f->next == clip.samples.size()) {
    f->next = 0;
    f->loop++;
  }
}

void media_configure(GstRTSPMediaFactory *, GstRTSPMedia *media, gpointer data) {
  const Clip *clip = static_cast<const Clip *>(data);
  GstElement *bin = gst_rtsp_media_get_element(media);
  GstElement *appsrc = gst_bin_get_by_name(GST_BIN(bin), "src");
  g_object_set(appsrc, "caps", clip->caps, "format", GST_FORMAT_TIME, "max-buffers",
               static_cast<guint64>(8), nullptr);
  auto *feeder = new Feeder{clip};
  g_object_set_data_full(G_OBJECT(media), "feeder", feeder,
                         [](gpointer p) { delete static_cast<Feeder *>(p); });
  g_signal_connect(appsrc, "need-data", G_CALLBACK(need_data), feeder);
  gst_object_unref(appsrc);
  gst_object_unref(bin);
}

gboolean quit(gpointer loop) {
  g_main_loop_quit(static_cast<GMainLoop *>(loop));
  return G_SOURCE_REMOVE;
}

}  // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: rtsp-test-server CLIP.avi|CLIP.mp4 [PORT]\n");
    return 2;
  }
  Clip clip = load_clip(argv[1]);
  GstRTSPServer *server = gst_rtsp_server_new();
  gst_rtsp_server_set_address(server, "127.0.0.1");
  gst_rtsp_server_set_service(server, argc == 3 ? argv[2] : "0");
  GstRTSPMediaFactory *factory = gst_rtsp_media_factory_new();
  // A fixed description with no outside text in it; the clip reaches appsrc as buffers.
  gst_rtsp_media_factory_set_launch(
      factory,
      "( appsrc name=src is-live=false ! h264parse config-interval=-1 ! "
      "rtph264pay name=pay0 pt=96 config-interval=-1 )");
  gst_rtsp_media_factory_set_shared(factory, TRUE);
  g_signal_connect(factory, "media-configure", G_CALLBACK(media_configure), &clip);
  GstRTSPMountPoints *mounts = gst_rtsp_server_get_mount_points(server);
  gst_rtsp_mount_points_add_factory(mounts, "/camera", factory);
  g_object_unref(mounts);
  if (gst_rtsp_server_attach(server, nullptr) == 0) {
    std::fprintf(stderr, "rtsp-test-server: cannot listen on 127.0.0.1\n");
    return 1;
  }
  std::printf("rtsp://127.0.0.1:%d/camera\n", gst_rtsp_server_get_bound_port(server));
  std::fflush(stdout);
  GMainLoop *loop = g_main_loop_new(nullptr, FALSE);
  g_unix_signal_add(SIGTERM, quit, loop);
  g_unix_signal_add(SIGINT, quit, loop);
  g_main_loop_run(loop);
  g_main_loop_unref(loop);
  g_object_unref(server);
  return 0;
}
