#include "plugins/blip2-vision/eva_vit.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"
#include "core/nn/attention.h"
#include "core/nn/feed_forward.h"
#include "core/nn/module_tree.h"

namespace capbench::blip2 {

VisionAttention::VisionAttention(const Blip2VisionConfig& config, bool split_bias) : heads_(config.num_attention_heads) {
  const int64_t d = config.hidden_size;
  qkv_ = register_module("qkv", std::make_shared<nn::Linear>(d, 3 * d, config.qkv_bias && !split_bias));
  if (config.qkv_bias && split_bias) {
    q_bias_ = register_parameter("q_bias", at::empty({d}), false);
    v_bias_ = register_parameter("v_bias", at::empty({d}), false);
  }
  projection_ = register_module("projection", std::make_shared<nn::Linear>(d, d));
}

void VisionAttention::fuse_split_bias() {
  if (q_bias_.defined()) qkv_->set_bias(at::cat({q_bias_, at::zeros_like(v_bias_), v_bias_}));
}

at::Tensor VisionAttention::forward(const at::Tensor& x) const {
  const int64_t b = x.size(0), t = x.size(1), d = x.size(2), head_dim = d / heads_;
  // [B,T,3D] -> 3 x [B,H,T,d], views only.
  const at::Tensor qkv = qkv_->forward(x).view({b, t, 3, heads_, head_dim}).permute({2, 0, 3, 1, 4});
  const nn::AttentionSpec spec{nn::ScoreScale::times(std::pow(static_cast<double>(head_dim), -0.5))};
  return projection_->forward(nn::attention(qkv[0], qkv[1], qkv[2], {}, spec));
}

VisionLayer::VisionLayer(const Blip2VisionConfig& config, bool split_bias) : act_(config.hidden_act) {
  self_attn_ = register_module("self_attn", std::make_shared<VisionAttention>(config, split_bias));
  layer_norm1_ = register_module("layer_norm1", std::make_shared<nn::LayerNorm>(config.hidden_size, config.layer_norm_eps));
  auto mlp = nn::level(*this, "mlp");
  fc1_ = mlp->register_module("fc1", std::make_shared<nn::Linear>(config.hidden_size, config.intermediate_size));
  fc1_->set_activation(act_);
  fc2_ = mlp->register_module("fc2", std::make_shared<nn::Linear>(config.intermediate_size, config.hidden_size));
  layer_norm2_ = register_module("layer_norm2", std::make_shared<nn::LayerNorm>(config.hidden_size, config.layer_norm_eps));
}

at::Tensor VisionLayer::forward(const at::Tensor& x) const {
  at::Tensor h = x + self_attn_->forward(layer_norm1_->forward(x));
  return h + nn::feed_forward(layer_norm2_->forward(h), *fc1_, act_, *fc2_);
}

EvaVit::EvaVit(const Blip2VisionConfig& config, bool split_bias) : config_(config) {
  const int64_t d = config.hidden_size, p = config.patch_size;
  const int64_t positions = (config.image_size / p) * (config.image_size / p) + 1;
  auto embeddings = nn::level(*this, "embeddings");
  class_embedding_ = embeddings->register_parameter("class_embedding", at::empty({1, 1, d}), false);
  auto patch = nn::level(*embeddings, "patch_embedding");
  patch_weight_ = patch->register_parameter("weight", at::empty({d, 3, p, p}), false);
  patch_bias_ = patch->register_parameter("bias", at::empty({d}), false);
  position_embedding_ = embeddings->register_parameter("position_embedding", at::empty({1, positions, d}), false);
  layers_ = nn::layer_list<VisionLayer>(*nn::level(*this, "encoder"), "layers", config.num_hidden_layers,
                                        [&](int64_t) { return std::make_shared<VisionLayer>(config, split_bias); });
  post_layernorm_ = register_module("post_layernorm", std::make_shared<nn::LayerNorm>(d, config.layer_norm_eps));
}

void EvaVit::loaded(const nn::Placement& place) {
  for (auto& layer : layers_) layer->attention().fuse_split_bias();
  nn::prepare(*this, place);
}

VisionOutput EvaVit::forward(const at::Tensor& pixel_values, bool want_hidden_states) const {
  const int64_t b = pixel_values.size(0);
  // [B,D,H/p,W/p] -> [B,N,D]
  const at::Tensor patches =
      at::conv2d(pixel_values, patch_weight_, patch_bias_, {config_.patch_size, config_.patch_size}).flatten(2).transpose(1, 2);
  const int64_t tokens = patches.size(1) + 1;
  if (tokens > position_embedding_.size(1))
    throw Error("pixel_values of " + std::to_string(pixel_values.size(2)) + "x" + std::to_string(pixel_values.size(3)) +
                " give " + std::to_string(tokens - 1) + " patches, but the vision model has positions for " +
                std::to_string(position_embedding_.size(1) - 1) + " (image_size " + std::to_string(config_.image_size) +
                ", patch_size " + std::to_string(config_.patch_size) + ")");
  at::Tensor h = at::cat({class_embedding_.expand({b, 1, -1}), patches}, 1);
  h.add_(position_embedding_.narrow(1, 0, tokens));

  VisionOutput out;
  for (const auto& layer : layers_) {
    if (want_hidden_states) out.hidden_states.push_back(h);
    h = layer->forward(h);
  }
  if (want_hidden_states) out.hidden_states.push_back(h);
  out.last_hidden_state = post_layernorm_->forward(h);
  out.pooler_output = post_layernorm_->forward(out.last_hidden_state.select(1, 0));
  return out;
}

}  // namespace capbench::blip2
