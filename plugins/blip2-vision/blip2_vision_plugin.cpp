// The `blip2-vision` plugin: BLIP-2's EVA ViT as an ImageEncoder, reading
// vision_model.* from a Blip2 checkpoint folder.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/blip2_config.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "core/module_loading.h"
#include "core/nn/linear.h"
#include "core/nn/placement.h"
#include "core/plugin_api.h"
#include "plugins/blip2-vision/eva_vit.h"

namespace capbench::blip2 {

namespace {

class Blip2VisionEncoder : public ImageEncoder {
 public:
  explicit Blip2VisionEncoder(ComponentContext& ctx)
      : place_(nn::place(ctx, "blip2-vision")), checkpoint_(Checkpoint::open(ctx.checkpoint, ctx.weights)) {
    const Blip2Config config = Blip2Config::from_path(checkpoint_.folder());
    const bool split_bias = checkpoint_.contains("vision_model.encoder.layers.0.self_attn.q_bias");
    model_ = std::make_shared<EvaVit>(config.vision, split_bias);
    load_module(*model_, checkpoint_, "vision_model.", nn::load_options(place_, *model_));
    model_->loaded(place_);
  }

  Output encode(const at::Tensor& pixel_values, bool want_hidden_states) override {
    if (pixel_values.dim() != 4 || pixel_values.size(1) != 3)
      throw Error("blip2-vision: pixel_values must be [B,3,H,W], got " + c10::str(pixel_values.sizes()));
    c10::InferenceMode inference;
    VisionOutput v = model_->forward(pixel_values.to(place_.device, place_.dtype), want_hidden_states);
    return {v.last_hidden_state, v.pooler_output, std::move(v.hidden_states)};
  }

 private:
  nn::Placement place_;
  Checkpoint checkpoint_;
  std::shared_ptr<EvaVit> model_;
};

std::shared_ptr<ImageEncoder> make_blip2_vision(ComponentContext& ctx) {
  return std::make_shared<Blip2VisionEncoder>(ctx);
}

}  // namespace

}  // namespace capbench::blip2

CAPBENCH_PLUGIN("blip2-vision", ImageEncoder, "BLIP-2 EVA ViT image encoder (vision_model.* of a Blip2 checkpoint)",
                capbench::blip2::make_blip2_vision)
