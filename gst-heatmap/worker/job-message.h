// job-message.h: the clip jobs a queue message carries (S3 event notifications or plain jobs).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace heatmap_worker {

// One clip to render: the bucket name as the message gives it ("" when it names none) and
// the raw object key (already URL-decoded for S3 events).
struct ClipRef {
  std::string bucket;
  std::string key;
};

// What a message asks for. Accepted shapes (UTF-8 JSON objects):
//   S3 event notification (AWS, Ceph RGW, MinIO):
//     {"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},
//                  "object":{"key":"raw_videos/...mp4", ...}}}, ...]}
//     keys are form-URL-encoded there ('+' is a space, %XX a byte); records whose eventName
//     is not ObjectCreated:* (e.g. ObjectRemoved) are skipped and counted in `ignored`.
//   Plain job (heatmap-worker --enqueue): {"bucket":"b","key":"raw_videos/...mp4"}
//     (bucket optional; the key is raw, not encoded).
//   MinIO's test event (s3:TestEvent) and an event with no ObjectCreated record are valid and
//   ask for nothing.
struct JobMessage {
  std::vector<ClipRef> clips;
  std::size_t ignored = 0;  // records that are not object creations
};

// Parses body; on failure returns false with a one-line reason in *error (never the whole body:
// at most a short, printable excerpt) and *out empty.
bool parse_job_message(std::string_view body, JobMessage *out, std::string *error);

// The plain job message for (bucket, key), as --enqueue publishes it.
std::string make_job_message(const std::string &bucket, const std::string &key);

// Form-URL decoding of an S3 event key: '+' -> ' ', %XX -> byte. False on a malformed escape
// or a NUL byte, decoded or raw.
bool url_decode_event_key(std::string_view encoded, std::string *out);

// A key or reason made safe for a single log line: control characters become \xNN and the
// text is cut at max_len bytes (marked with "...").
std::string printable(std::string_view text, std::size_t max_len = 300);

}  // namespace heatmap_worker
