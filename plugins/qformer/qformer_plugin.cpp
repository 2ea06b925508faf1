// The `qformer` plugin: BLIP-2's query tokens, Q-Former and language projection
// as a Bridge from image features to the language model's soft prompt.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/blip2_config.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "core/module_loading.h"
#include "core/nn/linear.h"
#include "core/nn/placement.h"
#include "core/plugin_api.h"
#include "plugins/qformer/qformer_model.h"

namespace capbench::blip2 {

namespace {

class QFormerBridge : public Bridge {
 public:
  explicit QFormerBridge(ComponentContext& ctx)
      : place_(nn::place(ctx, "qformer")), checkpoint_(Checkpoint::open(ctx.checkpoint, ctx.weights)) {
    config_ = Blip2Config::from_path(checkpoint_.folder());
    qformer_ = std::make_shared<QFormer>(config_.qformer);
    LoadOptions qformer_options = nn::load_options(place_, *qformer_);
    std::vector<std::string> names;
    for (const auto& name : checkpoint_.names("qformer.")) names.push_back(name.substr(std::string("qformer.").size()));
    qformer_options.ignore = qformer_text_side_names(names);
    load_module(*qformer_, checkpoint_, "qformer.", qformer_options);
    qformer_->loaded(place_);

    projection_ = std::make_shared<nn::Linear>(config_.qformer.hidden_size, config_.text_hidden_size);
    load_module(*projection_, checkpoint_, "language_projection.", nn::load_options(place_, *projection_));
    nn::prepare(*projection_, place_);

    if (!checkpoint_.contains("query_tokens"))
      throw Error(checkpoint_.folder().string() + ": checkpoint lacks tensor query_tokens");
    const std::vector<int64_t> expected{1, config_.num_query_tokens, config_.qformer.hidden_size};
    if (checkpoint_.info("query_tokens").shape != expected)
      throw Error(checkpoint_.folder().string() + ": tensor query_tokens has shape " +
                  c10::str(at::IntArrayRef(checkpoint_.info("query_tokens").shape)) + ", config.json implies " + c10::str(at::IntArrayRef(expected)));
    query_tokens_ = checkpoint_.load("query_tokens", place_.dtype, place_.device);
  }

  Output bridge(const at::Tensor& image_features, bool want_hidden_states) override {
    if (image_features.dim() != 3 || image_features.size(2) != config_.qformer.encoder_hidden_size)
      throw Error("qformer: image features must be [B,N," + std::to_string(config_.qformer.encoder_hidden_size) +
                  "], got " + c10::str(image_features.sizes()));
    c10::InferenceMode inference;
    QFormerOutput q = qformer_->forward(query_tokens_, image_features.to(place_.device, place_.dtype), want_hidden_states);
    Output out;
    out.soft_prompt = projection_->forward(q.last_hidden_state);
    out.last_hidden_state = std::move(q.last_hidden_state);
    out.hidden_states = std::move(q.hidden_states);
    return out;
  }

 private:
  nn::Placement place_;
  Checkpoint checkpoint_;
  Blip2Config config_;
  std::shared_ptr<QFormer> qformer_;
  std::shared_ptr<nn::Linear> projection_;
  at::Tensor query_tokens_;
};

std::shared_ptr<Bridge> make_qformer(ComponentContext& ctx) { return std::make_shared<QFormerBridge>(ctx); }

}  // namespace

}  // namespace capbench::blip2

CAPBENCH_PLUGIN("qformer", Bridge, "BLIP-2 Q-Former + language projection (query_tokens, qformer.*, language_projection.*)",
                capbench::blip2::make_qformer)
