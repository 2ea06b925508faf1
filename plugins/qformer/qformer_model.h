#pragma once
// BLIP-2's Q-Former (transformers' Blip2QFormerModel) run on its learned query
// tokens only, as a module tree whose parameter names are the checkpoint's
// names under "qformer.".
#include <ATen/core/Tensor.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/blip2_config.h"
#include "core/nn/linear.h"
#include "core/nn/norms.h"
#include "core/nn/placement.h"

namespace capbench::blip2 {

// BERT attention block, post-LN: LayerNorm(h + dense(attention(q = h, k = v = source))).
class QFormerAttention : public torch::nn::Module {
 public:
  QFormerAttention(const Blip2QFormerConfig& config, int64_t source_size);
  at::Tensor forward(const at::Tensor& h, const at::Tensor& source) const;

 private:
  int64_t heads_;
  std::shared_ptr<nn::Linear> query_, key_, value_, dense_;
  std::shared_ptr<nn::LayerNorm> layer_norm_;
};

class QFormerLayer : public torch::nn::Module {
 public:
  QFormerLayer(const Blip2QFormerConfig& config, bool cross_attention);
  at::Tensor forward(const at::Tensor& h, const at::Tensor& image_features) const;

 private:
  std::string act_;
  std::shared_ptr<QFormerAttention> attention_, crossattention_;
  std::shared_ptr<nn::Linear> intermediate_, output_;
  std::shared_ptr<nn::LayerNorm> output_layer_norm_;
};

struct QFormerOutput {
  at::Tensor last_hidden_state;           // [B,Q,D]
  std::vector<at::Tensor> hidden_states;  // embedding LayerNorm output, then each layer
};

class QFormer : public torch::nn::Module {
 public:
  explicit QFormer(const Blip2QFormerConfig& config);
  // Call once after load_module(): prepares the layers for `place`.
  void loaded(const nn::Placement& place);
  // query_tokens [1,Q,D] (or [B,Q,D]); image_features [B,N,encoder_hidden_size].
  QFormerOutput forward(const at::Tensor& query_tokens, const at::Tensor& image_features, bool want_hidden_states) const;

 private:
  std::shared_ptr<nn::LayerNorm> layernorm_;
  std::vector<std::shared_ptr<QFormerLayer>> layers_;
};

// Checkpoint names under "qformer." (prefix removed) that belong to the Q-Former's
// text side, which captioning never runs: word/position embeddings and the
// text feed-forward (intermediate / output) of each layer.
std::set<std::string> qformer_text_side_names(const std::vector<std::string>& names_without_prefix);

}  // namespace capbench::blip2
