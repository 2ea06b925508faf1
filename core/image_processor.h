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

  // [3,H,W] float32 pixel values of one image file; throws Error naming the file
  // when it is missing, unreadable, truncated or empty.
  at::Tensor load(const std::filesystem::path& image) const;
  // [B,3,H,W] float32 for several files.
  at::Tensor load_batch(const std::vector<std::filesystem::path>& images) const;

  const ImageProcessorConfig& config() const { return config_; }

 private:
  ImageProcessorConfig config_;
};

}  // namespace capbench
