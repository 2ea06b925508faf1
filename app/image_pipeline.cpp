#include "app/image_pipeline.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/dtype.h"
#include "core/plugin_loader.h"
#include "core/safetensors.h"

namespace capbench {

namespace {

c10::Device device_of(const ComponentContext& ctx) { return parse_device(ctx.device.empty() ? "cpu" : ctx.device); }

}  // namespace

ImagePipeline::ImagePipeline(const PluginRegistry& registry, Component encoder, Component bridge,
                             std::filesystem::path processor_folder)
    : processor_folder_(std::move(processor_folder)),
      encoder_device_(device_of(encoder.context)),
      bridge_device_(device_of(bridge.context)) {
  encoder_ = registry.create<ImageEncoder>(encoder.plugin, encoder.context);
  bridge_ = registry.create<Bridge>(bridge.plugin, bridge.context);
}

ImageSideOutput ImagePipeline::run(const std::vector<std::filesystem::path>& images, bool hidden_states) {
  if (!processor_) processor_.emplace(ImageProcessorConfig::from_folder(processor_folder_));
  return run(processor_->load_batch(images), hidden_states);
}

ImageSideOutput ImagePipeline::run(const at::Tensor& pixel_values, bool hidden_states) {
  c10::InferenceMode guard;
  ImageSideOutput out;
  out.pixel_values = pixel_values;
  // Pixel values stay float32 (the encoder's contract); each plugin casts to its dtype.
  out.vision = encoder_->encode(pixel_values.to(encoder_device_), hidden_states);
  out.bridge = bridge_->bridge(out.vision.last_hidden_state.to(bridge_device_), hidden_states);
  return out;
}

void ImageSideDump::add(const std::string& name, const at::Tensor& batch) {
  auto [part, added] = parts_.try_emplace(name);
  if (added) order_.push_back(name);
  part->second.push_back(batch.to(at::kCPU, at::kFloat));
}

void ImageSideDump::add(const ImageSideOutput& out) {
  add("pixel_values", out.pixel_values);
  for (size_t i = 0; i < out.vision.hidden_states.size(); ++i)
    add("vision.hidden_states." + std::to_string(i), out.vision.hidden_states[i]);
  add("vision.last_hidden_state", out.vision.last_hidden_state);
  add("vision.pooler_output", out.vision.pooler_output);
  for (size_t i = 0; i < out.bridge.hidden_states.size(); ++i)
    add("qformer.hidden_states." + std::to_string(i), out.bridge.hidden_states[i]);
  add("qformer.last_hidden_state", out.bridge.last_hidden_state);
  add("language_projection", out.bridge.soft_prompt);
}

std::vector<std::pair<std::string, at::Tensor>> ImageSideDump::tensors() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const std::string& name : order_) out.emplace_back(name, at::cat(parts_.at(name), 0).contiguous());
  return out;
}

void ImageSideDump::write(const std::filesystem::path& file, const std::map<std::string, std::string>& metadata) const {
  write_safetensors(file, tensors(), metadata);
}

}  // namespace capbench
