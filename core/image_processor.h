#pragma once
// BLIP's image processor: decode (OpenCV), convert to RGB as PIL's convert("RGB")
// does, resize with bicubic resampling exactly as Pillow computes it, rescale and
// normalise with the mean/std of preprocessor_config.json.
#include <ATen/core/Tensor.h>
#include <array>
#include <cstdint>
#include <filesystem>
#include <vector>

namespace capbench {

struct ImageProcessorConfig {
  int64_t height = 224;                 // size.height, or size when it is a bare number
  int64_t width = 224;                  // size.width, or size when it is a bare number
  bool do_resize = true;
  int64_t resample = 3;                 // PIL's code: 3 = bicubic (the only one BLIP uses)
  bool do_rescale = true;
  double rescale_factor = 1.0 / 255.0;
  bool do_normalize = true;
  std::array<double, 3> image_mean{0.48145466, 0.4578275, 0.40821073};  // OpenAI CLIP
  std::array<double, 3> image_std{0.26862954, 0.26130258, 0.27577711};
  bool do_convert_rgb = true;

  // Reads <folder>/preprocessor_config.json (absent keys keep the defaults above).
  static ImageProcessorConfig from_folder(const std::filesystem::path& folder);
};

class ImageProcessor {
 public:
  explicit ImageProcessor(ImageProcessorConfig config);

  // [3,H,W] float32 pixel values of one image file; throws ImageError
  // (core/image/image_error.h) naming the file when it is missing, unreadable,
  // truncated, empty or too large.
  at::Tensor load(const std::filesystem::path& image) const;
  // [B,3,H,W] float32 for several files (decoded in parallel); throws ImageError
  // naming the first file that fails (or whose size differs without do_resize).
  at::Tensor load_batch(const std::vector<std::filesystem::path>& images) const;
  // [H,W,3] uint8: the image after RGB conversion and resizing, before rescaling.
  at::Tensor load_resized(const std::filesystem::path& image) const;

  const ImageProcessorConfig& config() const { return config_; }
  // Rescale + normalise of one 8-bit value of channel c, as transformers computes
  // it (float64 rescale rounded to float32, then float32 (x - mean) / std).
  float pixel_value(int channel, uint8_t value) const { return lut_[channel][value]; }

 private:
  at::Tensor to_pixel_values(const std::vector<uint8_t>& rgb, int64_t channels, int64_t height, int64_t width) const;

  ImageProcessorConfig config_;
  std::array<std::array<float, 256>, 3> lut_{};
};

}  // namespace capbench
