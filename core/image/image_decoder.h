#pragma once
// Decoding image files (OpenCV) into the 8-bit pixels PIL would hand to
// convert("RGB"): PNG, JPEG, WebP, BMP and whatever else OpenCV reads.
//   * EXIF orientation is NOT applied (PIL.Image.open does not apply it, and
//     transformers' BlipImageProcessor does not either).
//   * Alpha is dropped, not composited (PIL's convert("RGB")).
//   * Grayscale stays one channel here; RGB conversion replicates it.
//   * 16-bit colour keeps the high byte (Pillow's "RGB;16B" unpacking); 16-bit
//     grayscale opens as mode "I" and clips to 255 when converted to RGB.
//   * Palette images come back as their palette colours.
#include <ATen/core/Tensor.h>
#include <filesystem>
#include <memory>

#include "core/image/pillow_resample.h"

namespace capbench::image {

struct DecodedImage {
  std::shared_ptr<const void> owner;  // keeps the pixels `view` reads alive
  ImageView8 view;                    // 1 channel (gray) or 3 (R, G, B)
};

// Throws ImageError (core/image/image_error.h) naming the file when it is
// missing, unreadable, truncated, empty, larger than PIL opens (more than
// 178,956,970 pixels) or of a pixel format PIL would not turn into RGB the same way.
DecodedImage decode_image(const std::filesystem::path& file);

// [H, W, 3] uint8 copy of a decoded image after PIL's convert("RGB").
at::Tensor to_rgb_tensor(const DecodedImage& image);

}  // namespace capbench::image
