// snapshot.cpp: rendering and writing one window's heatmap files.
#include "snapshot.h"

#include "location-pattern.h"

#include <exception>

namespace heatmap {

Stats Snapshot::stats() const {
  Stats s;
  s.frames_processed = frames;
  s.lighting_events = lighting_events;
  s.camera_shift = camera_shift;
  s.camera_moved = camera_moved;
  if (counts.empty())
    return s;
  s.width = counts.cols;
  s.height = counts.rows;
  double max = 0;
  cv::minMaxLoc(counts, nullptr, &max);
  s.max_count = static_cast<std::uint16_t>(max);
  s.motion_coverage = static_cast<double>(cv::countNonZero(counts)) / counts.total();
  return s;
}

namespace {

bool write_bytes(const std::string &path, const std::vector<std::uint8_t> &bytes,
                 SnapshotResult *result) {
  std::string error;
  if (!make_parent_dirs(path, &error) ||
      !write_file_atomically(path, bytes.data(), bytes.size(), &error)) {
    result->failure = SnapshotResult::Failure::kWrite;
    result->failed_path = path;
    result->error = error;
    return false;
  }
  result->written.push_back(path);
  return true;
}

}  // namespace

SnapshotResult write_snapshot(const Snapshot &snapshot, const SnapshotOutput &output) {
  SnapshotResult result;
  if (snapshot.counts.empty())
    return result;
  // Rendered and encoded first, so that a render failure writes nothing at all.
  if (!output.jpeg_path.empty() || output.want_jpeg) {
    cv::Mat image;
    std::string error;
    try {
      image = render(snapshot.counts,
                     output.render.use_background ? snapshot.background : cv::Mat(), output.render);
      if (output.places)
        output.places->decorate(image);
    } catch (const std::exception &e) {
      result.failure = SnapshotResult::Failure::kRender;
      result.error = e.what();
      return result;
    }
    if (!encode_jpeg(image, output.quality, &result.jpeg, &error)) {
      result.failure = SnapshotResult::Failure::kRender;
      result.error = error;
      return result;
    }
    result.width = image.cols;
    result.height = image.rows;
  }
  if (!output.png_path.empty()) {
    std::string error;
    if (!make_parent_dirs(output.png_path, &error) ||
        !write_counts_png(output.png_path, snapshot.counts, &error)) {
      result.failure = SnapshotResult::Failure::kWrite;
      result.failed_path = output.png_path;
      result.error = error;
      return result;
    }
    result.written.push_back(output.png_path);
  }
  Sidecar sidecar = snapshot.sidecar;
  sidecar.files.jpeg = output.jpeg_path.empty()
                           ? std::nullopt
                           : std::optional<std::string>(base_name(output.jpeg_path));
  sidecar.files.png = output.png_path.empty()
                          ? std::nullopt
                          : std::optional<std::string>(base_name(output.png_path));
  SideFiles side;
  side.scene_path = output.scene_path;
  side.csv_path = output.csv_path;
  side.json_path = output.json_path;
  const SideFilesResult side_result =
      write_side_files(side, snapshot.background, output.quality, &sidecar);
  result.written.insert(result.written.end(), side_result.written.begin(),
                        side_result.written.end());
  if (!side_result.ok) {
    result.failure = SnapshotResult::Failure::kWrite;
    result.failed_path = side_result.failed_path;
    result.error = side_result.error;
    return result;
  }
  if (!output.jpeg_path.empty() && !write_bytes(output.jpeg_path, result.jpeg, &result))
    return result;
  return result;
}

}  // namespace heatmap
