#include "plugins/qformer/qformer_model.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/container/modulelist.h>

#include <regex>

#include "core/error.h"

namespace capbench::blip2 {

QFormerAttention::QFormerAttention(const Blip2QFormerConfig& config, int64_t source_size)
    : heads_(config.num_attention_heads) {
  const int64_t d = config.hidden_size;
  auto attention = register_module("attention", std::make_shared<torch::nn::Module>());
  query_ = attention->register_module("query", std::make_shared<nn::Linear>(d, d));
  key_ = attention->register_module("key", std::make_shared<nn::Linear>(source_size, d));
  value_ = attention->register_module("value", std::make_shared<nn::Linear>(source_size, d));
  auto output = register_module("output", std::make_shared<torch::nn::Module>());
  dense_ = output->register_module("dense", std::make_shared<nn::Linear>(d, d));
  layer_norm_ = output->register_module("LayerNorm", std::make_shared<nn::LayerNorm>(d, config.layer_norm_eps));
}

at::Tensor QFormerAttention::forward(const at::Tensor& h, const at::Tensor& source) const {
  const at::Tensor context = nn::attention(nn::split_heads(query_->forward(h), heads_),
                                           nn::split_heads(key_->forward(source), heads_),
                                           nn::split_heads(value_->forward(source), heads_));
  return layer_norm_->forward(dense_->forward(context) + h);
}

QFormerLayer::QFormerLayer(const Blip2QFormerConfig& config, bool cross_attention) : act_(config.hidden_act) {
  attention_ = register_module("attention", std::make_shared<QFormerAttention>(config, config.hidden_size));
  if (cross_attention)
    crossattention_ =
        register_module("crossattention", std::make_shared<QFormerAttention>(config, config.encoder_hidden_size));
  auto intermediate = register_module("intermediate_query", std::make_shared<torch::nn::Module>());
  intermediate_ = intermediate->register_module(
      "dense", std::make_shared<nn::Linear>(config.hidden_size, config.intermediate_size));
  auto output = register_module("output_query", std::make_shared<torch::nn::Module>());
  output_ = output->register_module("dense", std::make_shared<nn::Linear>(config.intermediate_size, config.hidden_size));
  output_layer_norm_ =
      output->register_module("LayerNorm", std::make_shared<nn::LayerNorm>(config.hidden_size, config.layer_norm_eps));
}

at::Tensor QFormerLayer::forward(const at::Tensor& h, const at::Tensor& image_features) const {
  at::Tensor x = attention_->forward(h, h);
  if (crossattention_) x = crossattention_->forward(x, image_features);
  return output_layer_norm_->forward(output_->forward(nn::activation(act_, intermediate_->forward(x))) + x);
}

QFormer::QFormer(const Blip2QFormerConfig& config) {
  if (config.position_embedding_type != "absolute")
    throw Error("qformer: position_embedding_type '" + config.position_embedding_type +
                "' is not supported (the query tokens of BLIP-2 use 'absolute', i.e. none)");
  layernorm_ = register_module("layernorm", std::make_shared<nn::LayerNorm>(config.hidden_size, config.layer_norm_eps));
  auto encoder = register_module("encoder", std::make_shared<torch::nn::Module>());
  torch::nn::ModuleList layers;
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    layers_.push_back(std::make_shared<QFormerLayer>(config, i % config.cross_attention_frequency == 0));
    layers->push_back(layers_.back());
  }
  encoder->register_module("layer", layers);
}

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
