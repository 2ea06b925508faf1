#pragma once
// What the runner needs from a model, behind two small interfaces so that the
// runner's logic (sharing, batching, resuming) does not depend on plugins.
// PluginComponents builds them from plugins; tests may supply their own.
#include <ATen/core/Tensor.h>
#include <filesystem>
#include <memory>
#include <vector>

#include "app/experiment/experiment.h"
#include "core/generation.h"
#include "core/plugin_api.h"

namespace capbench {

class PluginRegistry;

// Image files -> soft prompts [B,Q,D] (encoder + bridge).
class ImageSide {
 public:
  virtual ~ImageSide() = default;
  virtual at::Tensor soft_prompts(const std::vector<std::filesystem::path>& images) = 0;
};

// Soft prompts -> captions (decoder + tokenizer + search).
class CaptionSide {
 public:
  virtual ~CaptionSide() = default;
  virtual std::vector<std::vector<Caption>> captions(const at::Tensor& soft_prompt, const GenerationOptions& options) = 0;
};

class ComponentFactory {
 public:
  virtual ~ComponentFactory() = default;
  // The encoder + bridge of `run` (runs with equal image_side_key share it).
  virtual std::unique_ptr<ImageSide> image_side(const RunSpec& run) = 0;
  // The decoder of `run` (runs with equal decoder.key share it).
  virtual std::unique_ptr<CaptionSide> caption_side(const RunSpec& run) = 0;
};

// Components made by plugins: ImageProcessor + ImageEncoder + Bridge, and
// TextDecoder + tokenizer + generate_captions().
class PluginComponents : public ComponentFactory {
 public:
  explicit PluginComponents(const PluginRegistry& registry) : registry_(registry) {}
  std::unique_ptr<ImageSide> image_side(const RunSpec& run) override;
  std::unique_ptr<CaptionSide> caption_side(const RunSpec& run) override;

 private:
  const PluginRegistry& registry_;
};

// The sentence embedder of an experiment's scorer.
std::shared_ptr<SentenceEmbedder> make_scorer(const PluginRegistry& registry, const ComponentSpec& scorer);

// "auto" -> cuda when present, else cpu; and the dtype for it ("auto" -> fp32
// on CPU, bf16 on CUDA; "int8" stays "int8").
std::string resolve_device(const std::string& device);
std::string resolve_dtype(const std::string& dtype, const std::string& resolved_device);

}  // namespace capbench
