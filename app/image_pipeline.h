#pragma once
// The image side as one library call: image files (or pixel values) -> the
// BLIP image processor -> an encoder plugin -> a bridge plugin, each output
// kept for dumps. `capbench caption`, `capbench encode` and the runner all use it.
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/image_processor.h"
#include "core/plugin_api.h"

namespace capbench {

class PluginRegistry;

struct ImageSideOutput {
  at::Tensor pixel_values;      // [B,3,H,W] float32, as the encoder received them
  ImageEncoder::Output vision;  // hidden states only when asked
  Bridge::Output bridge;        // soft_prompt [B,Q,D_lm]; hidden states only when asked
};

class ImagePipeline {
 public:
  struct Component {
    std::string plugin;
    ComponentContext context;
  };
  // Creates the encoder and the bridge. The processor reads the
  // preprocessor_config.json of `processor_folder` when images are first given.
  ImagePipeline(const PluginRegistry& registry, Component encoder, Component bridge,
                std::filesystem::path processor_folder);

  // Decodes and preprocesses the files, then runs the encoder and the bridge.
  ImageSideOutput run(const std::vector<std::filesystem::path>& images, bool hidden_states = false);
  // The same from pixel values [B,3,H,W] float32 the processor already made.
  ImageSideOutput run(const at::Tensor& pixel_values, bool hidden_states = false);

 private:
  std::filesystem::path processor_folder_;
  std::optional<ImageProcessor> processor_;
  c10::Device encoder_device_, bridge_device_;
  std::shared_ptr<ImageEncoder> encoder_;
  std::shared_ptr<Bridge> bridge_;
};

// The tensors of image-side outputs, batch after batch, under the names of the
// fixtures' references.safetensors ("vision.last_hidden_state",
// "qformer.hidden_states.2", "language_projection", ...), float32 on the CPU:
// the `--dump` of caption and encode.
class ImageSideDump {
 public:
  // pixel_values, vision.{last_hidden_state,pooler_output}, qformer.last_hidden_state,
  // language_projection, and every hidden state the output holds.
  void add(const ImageSideOutput& out);
  // Another tensor whose first dimension is the batch (e.g. the first logits).
  void add(const std::string& name, const at::Tensor& batch);
  // Each name's batches concatenated, in the order the names first came.
  std::vector<std::pair<std::string, at::Tensor>> tensors() const;
  size_t size() const { return order_.size(); }  // names
  void write(const std::filesystem::path& file, const std::map<std::string, std::string>& metadata = {}) const;

 private:
  std::vector<std::string> order_;
  std::map<std::string, std::vector<at::Tensor>> parts_;
};

}  // namespace capbench
