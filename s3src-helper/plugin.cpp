// plugin.cpp: registers the s3src and s3sink elements (and with them the s3:// URI scheme).
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include "gsts3sink.h"
#include "gsts3src.h"

static gboolean plugin_init(GstPlugin *plugin) {
  gboolean ok = GST_ELEMENT_REGISTER(s3src, plugin);
  ok &= GST_ELEMENT_REGISTER(s3sink, plugin);
  return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, s3src,
                  "Reads and writes s3:// objects on S3-compatible storage", plugin_init, VERSION,
                  GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
