// crash-plugin.cpp: a test-only GStreamer plugin whose decoder crashes (SIGSEGV) on a clip that
// starts with a magic line, so tests can prove that a crashing pipeline never holds a batch slot.
// Never installed; tests put it on GST_PLUGIN_PATH with a registry of their own.
#include <csignal>
#include <cstring>

#include <gst/gst.h>

#define PACKAGE "gst-heatmap-tests"

namespace {

constexpr char kMagic[] = "GST-HEATMAP-CRASH-TEST";
constexpr char kCaps[] = "application/x-gst-heatmap-crash-test";

void typefind(GstTypeFind *tf, gpointer) {
  const guint8 *data = gst_type_find_peek(tf, 0, sizeof kMagic - 1);
  if (data != nullptr && std::memcmp(data, kMagic, sizeof kMagic - 1) == 0)
    gst_type_find_suggest_empty_simple(tf, GST_TYPE_FIND_MAXIMUM, kCaps);
}

GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(kCaps));
GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw, format=(string)GRAY8"));

struct CrashDec {
  GstElement parent;
};
struct CrashDecClass {
  GstElementClass parent_class;
};

GType crash_dec_get_type();
G_DEFINE_TYPE(CrashDec, crash_dec, GST_TYPE_ELEMENT)

// The first buffer kills the process, as a decoder bug would.
GstFlowReturn crash_dec_chain(GstPad *, GstObject *, GstBuffer *buffer) {
  gst_buffer_unref(buffer);
  std::raise(SIGSEGV);
  return GST_FLOW_ERROR;
}

void crash_dec_class_init(CrashDecClass *klass) {
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  gst_element_class_set_static_metadata(element_class, "Crash test decoder", "Codec/Decoder/Video",
                                        "Raises SIGSEGV on its first buffer (tests only)",
                                        "gst-heatmap tests");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
}

void crash_dec_init(CrashDec *self) {
  GstPad *sink = gst_pad_new_from_static_template(&sink_template, "sink");
  gst_pad_set_chain_function(sink, crash_dec_chain);
  gst_element_add_pad(GST_ELEMENT(self), sink);
  gst_element_add_pad(GST_ELEMENT(self), gst_pad_new_from_static_template(&src_template, "src"));
}

gboolean plugin_init(GstPlugin *plugin) {
  return gst_type_find_register(plugin, "crashtest", GST_RANK_PRIMARY, typefind, nullptr,
                                gst_caps_new_empty_simple(kCaps), nullptr, nullptr) &&
         gst_element_register(plugin, "crashtestdec", GST_RANK_PRIMARY, crash_dec_get_type());
}

}  // namespace

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, crashtest,
                  "Test-only decoder that crashes (gst-heatmap tests)", plugin_init, "0.1.0",
                  "LGPL", "gst-heatmap", "https://example.invalid/gst-heatmap")
