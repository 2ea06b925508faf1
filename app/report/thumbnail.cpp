#include "app/report/thumbnail.h"

#include <algorithm>
#include <boost/archive/iterators/base64_from_binary.hpp>
#include <boost/archive/iterators/transform_width.hpp>
#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace capbench::report {

std::string base64(const std::vector<uint8_t>& bytes) {
  using namespace boost::archive::iterators;
  using Encoder = base64_from_binary<transform_width<const uint8_t*, 6, 8>>;
  // transform_width may look at the byte after a final partial group: give it zeros to read.
  std::vector<uint8_t> padded(bytes);
  padded.resize(bytes.size() + 2, 0);
  std::string out(Encoder(padded.data()), Encoder(padded.data() + bytes.size()));
  out.append((3 - bytes.size() % 3) % 3, '=');
  return out;
}

std::optional<Thumbnail> make_thumbnail(const std::filesystem::path& image, int longest, int quality) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(image, error)) return std::nullopt;  // and spare the user OpenCV's warning
  cv::Mat pixels;
  try {
    pixels = cv::imread(image.string(), cv::IMREAD_COLOR);
  } catch (const cv::Exception&) {
    return std::nullopt;
  }
  if (pixels.empty()) return std::nullopt;
  const double scale = std::min(1.0, static_cast<double>(longest) / std::max(pixels.cols, pixels.rows));
  if (scale < 1.0) {
    cv::Size size(std::max(1, static_cast<int>(std::lround(pixels.cols * scale))),
                  std::max(1, static_cast<int>(std::lround(pixels.rows * scale))));
    cv::Mat smaller;
    cv::resize(pixels, smaller, size, 0, 0, cv::INTER_AREA);
    pixels = smaller;
  }
  std::vector<uint8_t> jpeg;
  cv::imencode(".jpg", pixels, jpeg, {cv::IMWRITE_JPEG_QUALITY, quality, cv::IMWRITE_JPEG_OPTIMIZE, 1});
  return Thumbnail{"data:image/jpeg;base64," + base64(jpeg), pixels.cols, pixels.rows};
}

}  // namespace capbench::report
