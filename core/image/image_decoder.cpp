#include "core/image/image_decoder.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "core/image/image_error.h"

namespace capbench::image {

namespace {

std::vector<uint8_t> read_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) throw ImageError(file, "image file does not exist");
  if (std::filesystem::is_directory(file, ec)) throw ImageError(file, "is a directory, not an image file");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ImageError(file, "image file cannot be opened");
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::streamoff>(in.tellg());
  in.seekg(0, std::ios::beg);
  if (size <= 0) throw ImageError(file, "image file is empty");
  if (size > INT32_MAX) throw ImageError(file, "image file is larger than 2 GiB");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  if (!in.read(reinterpret_cast<char*>(bytes.data()), size)) throw ImageError(file, "image file cannot be read");
  return bytes;
}

// libjpeg pads a JPEG whose data stops early with gray and only warns; PIL
// refuses such a file ("image file is truncated"). A complete JPEG has an
// end-of-image marker after its first scan (inside scans 0xFF is byte-stuffed,
// so FF D9 cannot occur there); walk the marker segments to that scan and look.
bool jpeg_is_truncated(const std::vector<uint8_t>& b) {
  if (b.size() < 4 || b[0] != 0xFF || b[1] != 0xD8) return false;
  size_t pos = 2;
  while (true) {
    while (pos < b.size() && b[pos] != 0xFF) ++pos;           // tolerate junk between segments
    while (pos < b.size() && b[pos] == 0xFF) ++pos;           // fill bytes
    if (pos >= b.size()) return true;
    const uint8_t marker = b[pos++];
    if (marker == 0xD9) return false;                          // EOI before any scan
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length
    if (pos + 2 > b.size()) return true;
    const size_t length = (static_cast<size_t>(b[pos]) << 8) | b[pos + 1];
    if (marker == 0xDA) break;                                 // first scan starts
    pos += length;
  }
  for (size_t i = b.size() - 1; i > pos; --i)
    if (b[i] == 0xD9 && b[i - 1] == 0xFF) return false;
  return true;
}

// PIL.Image.open refuses images of more than 2 * Image.MAX_IMAGE_PIXELS pixels
// (DecompressionBombError), so transformers never processes them. Checked on
// the PNG / JPEG header before decoding, so that a forged size allocates nothing.
constexpr int64_t kMaxPixels = 2 * int64_t{89478485};

uint32_t big_endian(const std::vector<uint8_t>& b, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | b[at + static_cast<size_t>(i)];
  return v;
}

// Width x height from a PNG IHDR or a JPEG frame header; 0 when not found.
int64_t header_pixels(const std::vector<uint8_t>& b) {
  static const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (b.size() >= 24 && std::equal(png, png + 8, b.begin()) && std::equal(b.begin() + 12, b.begin() + 16, "IHDR"))
    return int64_t{big_endian(b, 16, 4)} * int64_t{big_endian(b, 20, 4)};
  if (b.size() < 4 || b[0] != 0xFF || b[1] != 0xD8) return 0;
  for (size_t pos = 2; pos + 4 <= b.size();) {
    if (b[pos] != 0xFF) return 0;
    const uint8_t marker = b[pos + 1];
    if (marker == 0xFF) {  // fill byte
      ++pos;
      continue;
    }
    const size_t length = big_endian(b, pos + 2, 2);
    const bool frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (frame && pos + 9 <= b.size()) return int64_t{big_endian(b, pos + 5, 2)} * int64_t{big_endian(b, pos + 7, 2)};
    if (marker == 0xDA) return 0;  // a scan before any frame header
    pos += 2 + length;
  }
  return 0;
}

void check_pixel_count(const std::filesystem::path& file, int64_t pixels) {
  if (pixels > kMaxPixels)
    throw ImageError(file, "image is too large (" + std::to_string(pixels) + " pixels; PIL, and so transformers, refuses more than " +
                               std::to_string(kMaxPixels) + ")");
}

// OpenCV's messages end with a newline and may span lines; the user gets the first.
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// The 16-bit decodings PIL performs, to 8 bits (see the header).
cv::Mat to_8bit(const cv::Mat& m) {
  cv::Mat out;
  if (m.channels() == 1) {
    m.convertTo(out, CV_8U);  // saturates: min(v, 255), as Pillow's I -> RGB
    return out;
  }
  out.create(m.rows, m.cols, CV_MAKETYPE(CV_8U, m.channels()));
  const int n = m.cols * m.channels();
  for (int y = 0; y < m.rows; ++y) {
    const uint16_t* src = m.ptr<uint16_t>(y);
    uint8_t* dst = out.ptr<uint8_t>(y);
    for (int i = 0; i < n; ++i) dst[i] = static_cast<uint8_t>(src[i] >> 8);
  }
  return out;
}

}  // namespace

DecodedImage decode_image(const std::filesystem::path& file) {
  // OpenCV logs its own lines for a damaged file; the ImageError below is the one the user gets.
  static const bool quiet = (cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT), true);
  (void)quiet;
  auto mat = std::make_shared<cv::Mat>();
  {
    std::vector<uint8_t> bytes = read_file(file);
    if (jpeg_is_truncated(bytes)) throw ImageError(file, "JPEG image is truncated");
    check_pixel_count(file, header_pixels(bytes));
    try {
      // IMREAD_UNCHANGED keeps alpha, 16-bit depth and gray, and skips EXIF orientation.
      *mat = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, bytes.data()), cv::IMREAD_UNCHANGED);
    } catch (const cv::Exception& e) {
      throw ImageError(file, "cannot decode image (" + first_line(e.err) + ")");
    }
  }
  if (mat->empty() || mat->rows == 0 || mat->cols == 0)
    throw ImageError(file, "cannot decode image (not an image, an unsupported format, or damaged)");
  check_pixel_count(file, int64_t{mat->rows} * mat->cols);
  if (mat->depth() == CV_16U) {
    *mat = to_8bit(*mat);
  } else if (mat->depth() != CV_8U) {
    throw ImageError(file, "unsupported pixel format (only 8- and 16-bit integer images are read)");
  }
  DecodedImage out;
  out.view.data = mat->ptr<uint8_t>(0);
  out.view.height = mat->rows;
  out.view.width = mat->cols;
  out.view.row_stride = static_cast<int64_t>(mat->step[0]);
  out.view.pixel_stride = mat->channels();
  switch (mat->channels()) {
    case 1:
    case 2: out.view.channel_offsets = {0}; break;  // gray, gray + alpha
    case 3:
    case 4: out.view.channel_offsets = {2, 1, 0}; break;  // BGR(A) read as RGB, alpha dropped
    default: throw ImageError(file, "unsupported number of channels " + std::to_string(mat->channels()));
  }
  out.owner = mat;
  return out;
}

at::Tensor to_rgb_tensor(const DecodedImage& image) {
  const ImageView8& v = image.view;
  at::Tensor out = at::empty({v.height, v.width, 3}, at::kByte);
  uint8_t* dst = out.data_ptr<uint8_t>();
  const size_t channels = v.channel_offsets.size();
  for (int64_t y = 0; y < v.height; ++y)
    for (int64_t x = 0; x < v.width; ++x) {
      const uint8_t* px = v.data + y * v.row_stride + x * v.pixel_stride;
      for (int c = 0; c < 3; ++c) *dst++ = px[v.channel_offsets[channels == 1 ? 0 : c]];
    }
  return out;
}

}  // namespace capbench::image
