// gsts3src.h: the s3src element, a seekable GstBaseSrc reading s3:// objects through s3-client.h.
#pragma once

#include <gst/base/gstbasesrc.h>
#include <gst/gst.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "gsts3connection.h"
#include "s3-client.h"

G_BEGIN_DECLS

#define GST_TYPE_S3_SRC (gst_s3_src_get_type())
G_DECLARE_FINAL_TYPE(GstS3Src, gst_s3_src, GST, S3_SRC, GstBaseSrc)

G_END_DECLS

// Property values, guarded by GST_OBJECT_LOCK; copied into an s3::Config at start().
struct GstS3SrcSettings {
  std::string uri;  // s3://bucket/key, percent-escaped
  GstS3ConnectionSettings connection;
  std::uint64_t read_ahead = 0;
};

// Streaming state, owned by the streaming thread between start() and stop(); `lock` guards the
// reader pointer and `flushing` against unlock() from other threads.
struct GstS3SrcState {
  std::unique_ptr<s3::Bucket> bucket;
  s3::Url url;
  std::uint64_t size = 0;
  std::mutex lock;
  std::unique_ptr<s3::Reader> reader;  // the open ranged GET, positioned at reader->offset()
  std::unique_ptr<s3::Reader> spare;   // the GET open before the last jump, kept for a jump back
  bool flushing = false;
  // The most recent bytes handed out, so that small backward re-reads (typefinders, demuxers
  // re-reading an atom header) do not open a new request.
  std::string recent;
  std::uint64_t recent_offset = 0;
  // The same window for the spare GET, swapped with it.
  std::string spare_recent;
  std::uint64_t spare_recent_offset = 0;
  unsigned requests = 0;  // GETs opened, for debug logs
};

struct _GstS3Src {
  GstBaseSrc parent;
  // C++ members, constructed in instance_init and destroyed in finalize.
  GstS3SrcSettings settings;
  GstS3SrcState state;
};

GST_ELEMENT_REGISTER_DECLARE(s3src);
