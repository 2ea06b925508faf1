#include "app/runner/components.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "app/image_pipeline.h"
#include "core/dtype.h"
#include "core/nn/placement.h"
#include "core/plugin_loader.h"
#include "core/tokenizer.h"

namespace capbench {

namespace {

struct Placed {
  c10::Device device{c10::kCPU};
  at::ScalarType dtype = at::kFloat;
};

Placed placement(const ComponentSpec& spec) {
  std::string device = resolve_device(spec.device);
  const std::string dtype = resolve_dtype(spec.dtype, device);
  // int8 is of the weights: what flows between components is the activations' dtype.
  return {c10::Device(device), dtype == "int8" ? nn::int8_activation_dtype() : parse_dtype(dtype)};
}

ComponentContext context(const ComponentSpec& spec) {
  std::string device = resolve_device(spec.device);
  return ComponentContext{spec.checkpoint, device, resolve_dtype(spec.dtype, device),
                          spec.settings ? Settings(*spec.settings, spec.where) : Settings(), spec.weights};
}

class PluginImageSide : public ImageSide {
 public:
  PluginImageSide(const PluginRegistry& registry, const RunSpec& run)
      : pipeline_(registry, {run.encoder.plugin, context(run.encoder)}, {run.bridge.plugin, context(run.bridge)},
                  run.encoder.checkpoint),
        decoder_place_(placement(run.decoder)) {}

  at::Tensor soft_prompts(const std::vector<std::filesystem::path>& images) override {
    c10::InferenceMode guard;
    return pipeline_.run(images).bridge.soft_prompt.to(decoder_place_.device, decoder_place_.dtype);
  }

 private:
  ImagePipeline pipeline_;
  Placed decoder_place_;
};

class PluginCaptionSide : public CaptionSide {
 public:
  PluginCaptionSide(const PluginRegistry& registry, const RunSpec& run) : tokenizer_(load_tokenizer(run.decoder.checkpoint)) {
    ComponentContext ctx = context(run.decoder);
    decoder_ = registry.create<TextDecoder>(run.decoder.plugin, ctx);
  }

  std::vector<std::vector<Caption>> captions(const at::Tensor& soft_prompt, const GenerationOptions& options) override {
    c10::InferenceMode guard;
    return generate_captions(*decoder_, *tokenizer_, soft_prompt, options);
  }

 private:
  std::unique_ptr<Tokenizer> tokenizer_;
  std::shared_ptr<TextDecoder> decoder_;
};

}  // namespace

std::string resolve_device(const std::string& device) { return parse_device(device).str(); }

std::string resolve_dtype(const std::string& dtype, const std::string& resolved_device) {
  if (dtype == "int8") return dtype;
  if (dtype != "auto") return dtype_name(parse_dtype(dtype));
  return resolved_device.rfind("cuda", 0) == 0 ? "bf16" : "fp32";
}

std::unique_ptr<ImageSide> PluginComponents::image_side(const RunSpec& run) {
  return std::make_unique<PluginImageSide>(registry_, run);
}

std::unique_ptr<CaptionSide> PluginComponents::caption_side(const RunSpec& run) {
  return std::make_unique<PluginCaptionSide>(registry_, run);
}

std::shared_ptr<SentenceEmbedder> make_scorer(const PluginRegistry& registry, const ComponentSpec& scorer) {
  ComponentContext ctx = context(scorer);
  return registry.create<SentenceEmbedder>(scorer.plugin, ctx);
}

}  // namespace capbench
