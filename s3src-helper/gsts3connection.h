// gsts3connection.h: what s3src and s3sink share at the GObject boundary: the connection
// properties (endpoint, region, access-key, secret-key, force-path-style, timeout, retries),
// their s3::Config, and the GstResourceError code an s3::Error maps to.
#pragma once

#include <gst/gst.h>

#include <string>

#include "s3-client.h"

// Property values, guarded by the element's GST_OBJECT_LOCK; turned into an s3::Config at start().
struct GstS3ConnectionSettings {
  std::string endpoint;
  std::string region;
  std::string access_key;
  std::string secret_key;  // write-only property: never read back, logged or printed
  bool force_path_style = false;
  unsigned timeout_s = 30;
  int retries = 4;
};

// The seven properties take the ids first_id .. first_id + kGstS3ConnectionProps - 1, in the
// order of the struct above.
constexpr guint kGstS3ConnectionProps = 7;

// Installs the seven properties; `timeout_blurb` says what the element's timeout measures
// (a read averaging too slow, a write without progress).
void gst_s3_connection_install_properties(GObjectClass *klass, guint first_id,
                                          const char *timeout_blurb, const char *retries_blurb);

// Under the object lock. Return false when prop_id is none of the seven.
bool gst_s3_connection_set_property(GstS3ConnectionSettings *settings, guint first_id,
                                    guint prop_id, const GValue *value);
bool gst_s3_connection_get_property(const GstS3ConnectionSettings &settings, guint first_id,
                                    guint prop_id, GValue *value);

// Sends the S3 library's log lines (requests, retries, redirects; never secrets) to `category`.
// The library has one process-wide hook: the element class initialised last gets them.
void gst_s3_connection_route_log(GstDebugCategory *category);

// The environment's S3 settings (S3_* / AWS_*) with the properties that are set on top.
s3::Config gst_s3_connection_config(const GstS3ConnectionSettings &settings);

// Posts `text` as a GST_RESOURCE_ERROR whose code says what the user can fix: NOT_FOUND (no
// such object or bucket), NOT_AUTHORIZED (bad keys, denied, clock skew), else `otherwise`
// (OPEN_READ, READ, WRITE: what the element was doing). The debug part is "OBJECT: HTTP status
// N, S3 code C"; `category` is the element's debug category for the warning log line.
void gst_s3_post_error(GstElement *element, GstDebugCategory *category, const s3::Error &error,
                       GstResourceError otherwise, const std::string &text,
                       const std::string &object);
