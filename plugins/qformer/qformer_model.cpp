#include "plugins/qformer/qformer_model.h"

#include <ATen/ATen.h>

#include <cmath>
#include <regex>

#include "core/error.h"
#include "core/nn/attention.h"
#include "core/nn/feed_forward.h"
#include "core/nn/module_tree.h"

namespace capbench::blip2 {

QFormerAttention::QFormerAttention(const Blip2QFormerConfig& config, int64_t source_size)
    : heads_(config.num_attention_heads) {
  const int64_t d = config.hidden_size;
  auto attention = nn::level(*this, "attention");
  query_ = attention->register_module("query", std::make_shared<nn::Linear>(d, d));
  key_ = attention->register_module("key", std::make_shared<nn::Linear>(source_size, d));
  value_ = attention->register_module("value", std::make_shared<nn::Linear>(source_size, d));
  auto output = nn::level(*this, "output");
  dense_ = output->register_module("dense", std::make_shared<nn::Linear>(d, d));
  layer_norm_ = output->register_module("LayerNorm", std::make_shared<nn::LayerNorm>(d, config.layer_norm_eps));
}

at::Tensor QFormerAttention::forward(const at::Tensor& h, const at::Tensor& source) const {
  const double head_dim = static_cast<double>(h.size(-1) / heads_);
  const nn::AttentionSpec spec{nn::ScoreScale::divided_by(std::sqrt(head_dim))};
  const at::Tensor context =
      nn::attention(nn::split_heads(query_->forward(h), heads_), nn::split_heads(key_->forward(source), heads_),
                    nn::split_heads(value_->forward(source), heads_), {}, spec);
  return layer_norm_->forward(dense_->forward(context) + h);
}

QFormerLayer::QFormerLayer(const Blip2QFormerConfig& config, bool cross_attention) : act_(config.hidden_act) {
  attention_ = register_module("attention", std::make_shared<QFormerAttention>(config, config.hidden_size));
  if (cross_attention)
    crossattention_ =
        register_module("crossattention", std::make_shared<QFormerAttention>(config, config.encoder_hidden_size));
  intermediate_ = nn::level(*this, "intermediate_query")
                      ->register_module("dense", std::make_shared<nn::Linear>(config.hidden_size, config.intermediate_size));
  intermediate_->set_activation(act_);
  auto output = nn::level(*this, "output_query");
  output_ = output->register_module("dense", std::make_shared<nn::Linear>(config.intermediate_size, config.hidden_size));
  output_layer_norm_ =
      output->register_module("LayerNorm", std::make_shared<nn::LayerNorm>(config.hidden_size, config.layer_norm_eps));
}

at::Tensor QFormerLayer::forward(const at::Tensor& h, const at::Tensor& image_features) const {
  at::Tensor x = attention_->forward(h, h);
  if (crossattention_) x = crossattention_->forward(x, image_features);
  return output_layer_norm_->forward(nn::feed_forward(x, *intermediate_, act_, *output_) + x);
}

QFormer::QFormer(const Blip2QFormerConfig& config) {
  if (config.position_embedding_type != "absolute")
    throw Error("qformer: position_embedding_type '" + config.position_embedding_type +
                "' is not supported (the query tokens of BLIP-2 use 'absolute', i.e. none)");
  layernorm_ = register_module("layernorm", std::make_shared<nn::LayerNorm>(config.hidden_size, config.layer_norm_eps));
  layers_ = nn::layer_list<QFormerLayer>(*nn::level(*this, "encoder"), "layer", config.num_hidden_layers, [&](int64_t i) {
    return std::make_shared<QFormerLayer>(config, i % config.cross_attention_frequency == 0);
  });
}

void QFormer::loaded(const nn::Placement& place) { nn::prepare(*this, place); }

QFormerOutput QFormer::forward(const at::Tensor& query_tokens, const at::Tensor& image_features,
                               bool want_hidden_states) const {
  const int64_t b = image_features.size(0);
  at::Tensor h = layernorm_->forward(query_tokens).expand({b, -1, -1});
  QFormerOutput out;
  for (const auto& layer : layers_) {
    if (want_hidden_states) out.hidden_states.push_back(h);
    h = layer->forward(h, image_features);
  }
  if (want_hidden_states) out.hidden_states.push_back(h);
  out.last_hidden_state = h;
  return out;
}

std::set<std::string> qformer_text_side_names(const std::vector<std::string>& names) {
  static const std::regex text_side(R"(^(embeddings\..*|encoder\.layer\.[0-9]+\.(intermediate|output)\..*)$)");
  std::set<std::string> out;
  for (const auto& name : names)
    if (std::regex_match(name, text_side)) out.insert(name);
  return out;
}

}  // namespace capbench::blip2
