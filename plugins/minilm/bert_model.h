#pragma once
// Hugging Face BertModel (post-LayerNorm encoder, absolute positions, token
// types), inference only, with module names equal to the checkpoint's tensor
// names ("embeddings.word_embeddings.weight", "encoder.layer.0.attention.self.query.weight").
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <memory>
#include <string>
#include <vector>

#include "core/json_file.h"
#include "core/nn/embedding.h"
#include "core/nn/linear.h"
#include "core/nn/norms.h"
#include "core/nn/placement.h"

namespace capbench::minilm {

struct BertConfig {
  int64_t vocab_size = 30522;  // defaults: transformers 4.40 BertConfig
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  std::string hidden_act = "gelu";
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  int64_t pad_token_id = 0;

  // Reads config.json (sparse or complete); throws Error naming the file and key.
  static BertConfig from_json(const JsonObject& config);
};

class BertLayer : public torch::nn::Module {
 public:
  explicit BertLayer(const BertConfig& config);
  // hidden [B,T,D]; mask_bias [B,1,1,T] added to the attention scores.
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& mask_bias) const;

 private:
  int64_t heads_;
  std::string act_;
  std::shared_ptr<nn::Linear> query_, key_, value_, attention_dense_, intermediate_, output_dense_;
  std::shared_ptr<nn::LayerNorm> attention_norm_, output_norm_;
};

class BertModel : public torch::nn::Module {
 public:
  explicit BertModel(const BertConfig& config);
  // Call once after load_module(): prepares the layers for `place`.
  void loaded(const nn::Placement& place);

  struct Output {
    at::Tensor embedding_output;   // [B,T,D], LN(word + position + token type)
    at::Tensor last_hidden_state;  // [B,T,D]
  };
  // ids and mask [B,T] int64 (mask 1 = token, 0 = padding); token types all 0,
  // positions 0..T-1, as sentence-transformers calls BertModel.
  Output forward(const at::Tensor& ids, const at::Tensor& mask) const;

  const BertConfig& config() const { return config_; }

 private:
  BertConfig config_;
  std::shared_ptr<nn::Embedding> word_, position_, token_type_;
  std::shared_ptr<nn::LayerNorm> embedding_norm_;
  std::vector<std::shared_ptr<BertLayer>> layers_;
};

}  // namespace capbench::minilm
