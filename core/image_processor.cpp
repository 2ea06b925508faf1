#include "core/image_processor.h"

#include <ATen/Parallel.h>
#include <ATen/ATen.h>

#include <exception>

#include "core/error.h"
#include "core/image/image_decoder.h"
#include "core/image/image_error.h"
#include "core/image/pillow_resample.h"
#include "core/json_file.h"
#include "core/log.h"

namespace capbench {

namespace {

std::array<double, 3> read_triple(const JsonObject& config, const std::string& key, const std::array<double, 3>& fallback) {
  if (!config.has(key)) return fallback;
  const nlohmann::json& v = config.json().at(key);
  if (v.is_number()) return {v.get<double>(), v.get<double>(), v.get<double>()};
  if (v.is_array() && v.size() == 3 && v[0].is_number() && v[1].is_number() && v[2].is_number())
    return {v[0].get<double>(), v[1].get<double>(), v[2].get<double>()};
  throw Error(config.file().string() + ": key '" + config.key_path(key) + "' must be a number or a list of 3 numbers");
}

}  // namespace

ImageProcessorConfig ImageProcessorConfig::from_folder(const std::filesystem::path& folder) {
  ImageProcessorConfig c;
  const std::filesystem::path file = folder / "preprocessor_config.json";
  if (!std::filesystem::exists(file)) {
    log::debug("{} not found: BLIP-2 image processor defaults (224x224, bicubic, CLIP mean/std)", file.string());
    return c;
  }
  const JsonObject config(read_json_file(file), file);
  if (config.has("size")) {
    const nlohmann::json& size = config.json().at("size");
    if (size.is_number()) {
      c.height = c.width = config.get_int("size", 0);
    } else {
      const JsonObject s = config.child("size");
      if (!s.has("height") || !s.has("width"))
        throw Error(file.string() + ": key 'size' must be a number or {\"height\": H, \"width\": W} "
                    "(the BLIP image processor resizes to a fixed size)");
      c.height = s.get_int("height", 0);
      c.width = s.get_int("width", 0);
    }
    if (c.height <= 0 || c.width <= 0) throw Error(file.string() + ": key 'size' must be positive");
  }
  c.do_resize = config.get_bool("do_resize", c.do_resize);
  c.resample = config.get_int("resample", c.resample);
  c.do_rescale = config.get_bool("do_rescale", c.do_rescale);
  c.rescale_factor = config.get_double("rescale_factor", c.rescale_factor);
  c.do_normalize = config.get_bool("do_normalize", c.do_normalize);
  c.image_mean = read_triple(config, "image_mean", c.image_mean);
  c.image_std = read_triple(config, "image_std", c.image_std);
  c.do_convert_rgb = config.get_bool("do_convert_rgb", c.do_convert_rgb);
  if (c.do_resize) image::pillow_filter(c.resample);  // refuse unknown codes now, not at the first image
  for (double s : c.image_std)
    if (c.do_normalize && s == 0.0) throw Error(file.string() + ": key 'image_std' must not contain 0");
  return c;
}

ImageProcessor::ImageProcessor(ImageProcessorConfig config) : config_(std::move(config)) {
  if (config_.do_resize) image::pillow_filter(config_.resample);
  // Every output value depends on one byte and the channel: tabulate the exact
  // float arithmetic of transformers once.
  for (int c = 0; c < 3; ++c) {
    const float mean = static_cast<float>(config_.image_mean[c]);
    const float std = static_cast<float>(config_.image_std[c]);
    for (int u = 0; u < 256; ++u) {
      float v = config_.do_rescale ? static_cast<float>(static_cast<double>(u) * config_.rescale_factor)
                                   : static_cast<float>(u);
      if (config_.do_normalize) v = (v - mean) / std;
      lut_[c][u] = v;
    }
  }
}

namespace {

// RGB (or gray, replicated) bytes of one image at the processor's output size.
std::vector<uint8_t> resized_bytes(const ImageProcessorConfig& config, const std::filesystem::path& file,
                                   int64_t& channels, int64_t& height, int64_t& width) {
  const image::DecodedImage decoded = image::decode_image(file);
  channels = static_cast<int64_t>(decoded.view.channel_offsets.size());
  height = config.do_resize ? config.height : decoded.view.height;
  width = config.do_resize ? config.width : decoded.view.width;
  // Resizing gray before replicating it gives the bytes Pillow computes on the
  // RGB image (every channel uses the same coefficients) at a third of the work.
  return image::pillow_resize(decoded.view, height, width,
                              config.do_resize ? image::pillow_filter(config.resample) : image::PillowFilter::bicubic);
}

}  // namespace

at::Tensor ImageProcessor::to_pixel_values(const std::vector<uint8_t>& bytes, int64_t channels, int64_t height,
                                           int64_t width) const {
  at::Tensor out = at::empty({3, height, width}, at::kFloat);
  float* dst = out.data_ptr<float>();
  const int64_t plane = height * width;
  for (int c = 0; c < 3; ++c) {
    const int64_t source = channels == 1 ? 0 : c;
    const auto& lut = lut_[c];
    float* d = dst + c * plane;
    for (int64_t i = 0; i < plane; ++i) d[i] = lut[bytes[i * channels + source]];
  }
  return out;
}

at::Tensor ImageProcessor::load(const std::filesystem::path& image) const {
  int64_t channels = 0, height = 0, width = 0;
  const std::vector<uint8_t> bytes = resized_bytes(config_, image, channels, height, width);
  return to_pixel_values(bytes, channels, height, width);
}

at::Tensor ImageProcessor::load_resized(const std::filesystem::path& image) const {
  int64_t channels = 0, height = 0, width = 0;
  const std::vector<uint8_t> bytes = resized_bytes(config_, image, channels, height, width);
  at::Tensor out = at::empty({height, width, 3}, at::kByte);
  uint8_t* dst = out.data_ptr<uint8_t>();
  for (int64_t i = 0; i < height * width; ++i)
    for (int64_t c = 0; c < 3; ++c) dst[i * 3 + c] = bytes[i * channels + (channels == 1 ? 0 : c)];
  return out;
}

at::Tensor ImageProcessor::load_batch(const std::vector<std::filesystem::path>& images) const {
  if (images.empty()) throw Error("no images given");
  std::vector<at::Tensor> each(images.size());
  std::vector<std::exception_ptr> failures(images.size());
  at::parallel_for(0, static_cast<int64_t>(images.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      try {
        each[i] = load(images[i]);
      } catch (...) {
        failures[i] = std::current_exception();
      }
    }
  });
  for (const auto& failure : failures)
    if (failure) std::rethrow_exception(failure);
  for (size_t i = 1; i < each.size(); ++i)
    if (each[i].sizes() != each[0].sizes())
      throw ImageError(images[i], "image size differs from " + images[0].string() +
                                      " and do_resize is false, so they cannot form one batch");
  return at::stack(each);
}

}  // namespace capbench
