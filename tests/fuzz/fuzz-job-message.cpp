// fuzz-job-message.cpp: libFuzzer target for heatmap-worker's queue message parser
// (gst-heatmap/worker/job-message): anyone who can publish to the exchange, or put an object with
// any key into a notifying bucket, chooses these bytes. Either the message is read, and every clip
// it names has a usable key that survives the plain-job round trip (--enqueue's own format), or
// the reason is one short printable line.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <glib.h>

#include "job-message.h"

namespace {

bool clean_line(const std::string &s, std::size_t max_len) {
  if (s.empty() || s.size() > max_len)
    return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f)
      return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  namespace hw = heatmap_worker;
  const std::string_view body(reinterpret_cast<const char *>(data), size);

  // The log-line helper: no control character survives, and the cut is where it says.
  const std::string shown = hw::printable(body, 64);
  for (unsigned char c : shown)
    if (c < 0x20 || c == 0x7f)
      std::abort();
  if (shown.size() > 64 + 4 + 3)
    std::abort();

  // Form-URL decoding never grows the text and never yields a NUL byte.
  std::string decoded;
  if (hw::url_decode_event_key(body, &decoded) &&
      (decoded.size() > body.size() || decoded.find('\0') != std::string::npos))
    std::abort();

  hw::JobMessage message;
  std::string error;
  if (!hw::parse_job_message(body, &message, &error)) {
    if (!clean_line(error, 400) || !message.clips.empty())
      std::abort();
    return 0;
  }
  for (const hw::ClipRef &clip : message.clips) {
    if (clip.key.empty() || clip.key.size() > 1024 ||
        !g_utf8_validate(clip.key.data(), static_cast<gssize>(clip.key.size()), nullptr))
      std::abort();
    hw::JobMessage again;
    std::string why;
    if (!hw::parse_job_message(hw::make_job_message(clip.bucket, clip.key), &again, &why) ||
        again.clips.size() != 1 || again.clips[0].key != clip.key ||
        again.clips[0].bucket != clip.bucket)
      std::abort();
  }
  return 0;
}
