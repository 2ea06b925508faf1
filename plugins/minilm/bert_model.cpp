#include "plugins/minilm/bert_model.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"
#include "core/nn/activations.h"
#include "core/nn/attention.h"
#include "core/nn/feed_forward.h"
#include "core/nn/masks.h"
#include "core/nn/module_tree.h"

namespace capbench::minilm {

BertConfig BertConfig::from_json(const JsonObject& json) {
  BertConfig c;
  c.vocab_size = json.get_int("vocab_size", c.vocab_size);
  c.hidden_size = json.get_int("hidden_size", c.hidden_size);
  c.num_hidden_layers = json.get_int("num_hidden_layers", c.num_hidden_layers);
  c.num_attention_heads = json.get_int("num_attention_heads", c.num_attention_heads);
  c.intermediate_size = json.get_int("intermediate_size", c.intermediate_size);
  c.hidden_act = json.get_string("hidden_act", c.hidden_act);
  c.max_position_embeddings = json.get_int("max_position_embeddings", c.max_position_embeddings);
  c.type_vocab_size = json.get_int("type_vocab_size", c.type_vocab_size);
  c.layer_norm_eps = json.get_double("layer_norm_eps", c.layer_norm_eps);
  c.pad_token_id = json.get_int("pad_token_id", c.pad_token_id);
  const std::string where = json.file().string();
  const std::string model_type = json.get_string("model_type", "bert");
  if (model_type != "bert")
    throw Error(where + ": model_type '" + model_type + "' is not supported by the minilm plugin (expected bert)");
  const std::string positions = json.get_string("position_embedding_type", "absolute");
  if (positions != "absolute")
    throw Error(where + ": position_embedding_type '" + positions + "' is not supported (expected absolute)");
  if (c.hidden_size <= 0 || c.num_attention_heads <= 0 || c.hidden_size % c.num_attention_heads != 0)
    throw Error(where + ": hidden_size " + std::to_string(c.hidden_size) + " is not a multiple of num_attention_heads " +
                std::to_string(c.num_attention_heads));
  if (c.num_hidden_layers < 0 || c.intermediate_size <= 0 || c.vocab_size <= 0 || c.max_position_embeddings <= 0 ||
      c.type_vocab_size <= 0)
    throw Error(where + ": layer count, sizes and vocabulary must be positive");
  nn::check_activation(c.hidden_act, where + ": hidden_act");
  return c;
}

BertLayer::BertLayer(const BertConfig& c) : heads_(c.num_attention_heads), act_(c.hidden_act) {
  const int64_t d = c.hidden_size;
  auto attention = nn::level(*this, "attention");
  auto self = nn::level(*attention, "self");
  query_ = self->register_module("query", std::make_shared<nn::Linear>(d, d));
  key_ = self->register_module("key", std::make_shared<nn::Linear>(d, d));
  value_ = self->register_module("value", std::make_shared<nn::Linear>(d, d));
  auto attention_output = nn::level(*attention, "output");
  attention_dense_ = attention_output->register_module("dense", std::make_shared<nn::Linear>(d, d));
  attention_norm_ = attention_output->register_module("LayerNorm", std::make_shared<nn::LayerNorm>(d, c.layer_norm_eps));
  intermediate_ = nn::level(*this, "intermediate")
                      ->register_module("dense", std::make_shared<nn::Linear>(d, c.intermediate_size));
  intermediate_->set_activation(act_);
  auto output = nn::level(*this, "output");
  output_dense_ = output->register_module("dense", std::make_shared<nn::Linear>(c.intermediate_size, d));
  output_norm_ = output->register_module("LayerNorm", std::make_shared<nn::LayerNorm>(d, c.layer_norm_eps));
}

at::Tensor BertLayer::forward(const at::Tensor& hidden, const at::Tensor& mask_bias) const {
  // BertSelfAttention (eager): (q k^T) / sqrt(d) + mask, softmax, times v.
  const nn::AttentionSpec spec{nn::ScoreScale::divided_by(std::sqrt(static_cast<double>(hidden.size(-1) / heads_)))};
  const at::Tensor context =
      nn::attention(nn::split_heads(query_->forward(hidden), heads_), nn::split_heads(key_->forward(hidden), heads_),
                    nn::split_heads(value_->forward(hidden), heads_), mask_bias, spec);
  const at::Tensor attended = attention_norm_->forward(attention_dense_->forward(context) + hidden);
  return output_norm_->forward(nn::feed_forward(attended, *intermediate_, act_, *output_dense_) + attended);
}

BertModel::BertModel(const BertConfig& c) : config_(c) {
  auto embeddings = nn::level(*this, "embeddings");
  word_ = embeddings->register_module("word_embeddings", std::make_shared<nn::Embedding>(c.vocab_size, c.hidden_size));
  position_ = embeddings->register_module("position_embeddings",
                                          std::make_shared<nn::Embedding>(c.max_position_embeddings, c.hidden_size));
  token_type_ = embeddings->register_module("token_type_embeddings",
                                            std::make_shared<nn::Embedding>(c.type_vocab_size, c.hidden_size));
  embedding_norm_ = embeddings->register_module("LayerNorm", std::make_shared<nn::LayerNorm>(c.hidden_size, c.layer_norm_eps));
  layers_ = nn::layer_list<BertLayer>(*nn::level(*this, "encoder"), "layer", c.num_hidden_layers,
                                      [&](int64_t) { return std::make_shared<BertLayer>(c); });
}

void BertModel::loaded(const nn::Placement& place) { nn::prepare(*this, place); }

BertModel::Output BertModel::forward(const at::Tensor& ids, const at::Tensor& mask) const {
  const int64_t length = ids.size(1);
  if (length > config_.max_position_embeddings)
    throw Error("minilm: " + std::to_string(length) + " tokens exceed max_position_embeddings " +
                std::to_string(config_.max_position_embeddings));
  const at::Tensor words = word_->forward(ids);
  const at::Tensor types = token_type_->rows(0, 1);  // token_type_ids are all 0
  const at::Tensor positions = position_->rows(0, length);
  Output out;
  out.embedding_output = embedding_norm_->forward((words + types) + positions);
  // get_extended_attention_mask: (1 - mask) * finfo(dtype).min on masked keys.
  const at::Tensor mask_bias = nn::key_padding_bias(mask, out.embedding_output.scalar_type());
  at::Tensor hidden = out.embedding_output;
  for (const auto& layer : layers_) hidden = layer->forward(hidden, mask_bias);
  out.last_hidden_state = hidden;
  return out;
}

}  // namespace capbench::minilm
