// gsts3sink.h: the s3sink element, a GstBaseSink writing buffers to s3:// objects through
// s3-client.h (one object per buffer with a key pattern, else the whole stream as one object).
#pragma once

#include <gst/base/gstbasesink.h>
#include <gst/gst.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "location-pattern.h"
#include "gsts3connection.h"
#include "s3-client.h"

G_BEGIN_DECLS

#define GST_TYPE_S3_SINK (gst_s3_sink_get_type())
G_DECLARE_FINAL_TYPE(GstS3Sink, gst_s3_sink, GST, S3_SINK, GstBaseSink)

G_END_DECLS

// Property values, guarded by GST_OBJECT_LOCK; copied at start().
struct GstS3SinkSettings {
  std::string location;  // s3://bucket/key-pattern, raw (patterns, not percent-escapes)
  GstS3ConnectionSettings connection;
  std::string content_type;  // empty: from the caps
  bool overwrite = false;
  std::uint64_t index = 0;      // first index for %05d
  std::uint64_t part_size = 0;  // whole-stream mode: bytes per multipart part
};

// Streaming state, owned by the streaming thread between start() and stop().
struct GstS3SinkState {
  std::unique_ptr<s3::Bucket> bucket;
  std::string bucket_name;
  heatmap::LocationPattern pattern;  // the key
  std::uint64_t index = 0;           // next %05d value
  std::string caps_content_type;     // derived from the negotiated caps
  // Whole-stream mode (a key without pattern): the stream goes out as it comes, one part at a
  // time (s3::Upload: multipart beyond one part, a single PUT below), and the object appears
  // at end-of-stream; stopped before that, the upload is aborted. Opened at the first buffer
  // (the caps give the content type).
  std::unique_ptr<s3::Upload> upload;
  std::string stream_key;
  std::size_t part_size = 0;
  bool stream_failed = false;  // an error ended the upload: EOS must not make a new object
  std::uint64_t objects = 0;   // objects written
};

struct _GstS3Sink {
  GstBaseSink parent;
  GstS3SinkSettings settings;
  GstS3SinkState state;
};

GST_ELEMENT_REGISTER_DECLARE(s3sink);
