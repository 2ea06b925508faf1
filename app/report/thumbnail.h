#pragma once
// Image thumbnails the report embeds: a JPEG (OpenCV) in a data: URI, so the
// page needs no other file.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace capbench::report {

struct Thumbnail {
  std::string data_uri;  // data:image/jpeg;base64,...
  int width = 0, height = 0;
};

// The image scaled down (never up) to `longest` pixels on its longest side, as
// JPEG of `quality` (0..100); nullopt when OpenCV cannot read the file.
std::optional<Thumbnail> make_thumbnail(const std::filesystem::path& image, int longest = 256, int quality = 80);

// RFC 4648 base64 with padding.
std::string base64(const std::vector<uint8_t>& bytes);

}  // namespace capbench::report
