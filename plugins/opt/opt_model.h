#pragma once
// OPTForCausalLM as transformers 4.40 computes it, from input embeddings, with
// a key/value cache for incremental decoding. The module tree carries the
// checkpoint's names under the decoder's prefix ("decoder.layers.0.self_attn.q_proj.weight").
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "core/checkpoint.h"
#include "core/nn/decoder_state.h"
#include "core/nn/embedding.h"
#include "core/nn/kv_cache.h"
#include "core/nn/linear.h"
#include "core/nn/norms.h"
#include "core/nn/placement.h"
#include "plugins/opt/opt_config.h"

namespace capbench::opt {

// What OPT carries from one decoding step to the next, per row.
struct OptState : nn::BatchState {
  nn::KvCache cache;              // keys and values; the prompt's padding as key bias
  at::Tensor next_position;       // [R] int64: row of embed_positions for the row's next token (offset included)
  int64_t max_next_position = 0;  // upper bound of next_position, kept on the host
  int64_t steps = 0;              // decoding steps the cache is allocated for (0: unknown, it grows)
  OptState() {
    track(cache);
    track(next_position);
  }
};

class OptAttention : public torch::nn::Module {
 public:
  explicit OptAttention(const OptConfig& config);
  // x [B,T,D]; bias broadcasts to [B,1,T,K]. With a cache, appends this
  // layer's keys and values and attends over every cached position.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& bias, nn::KvCache* cache, size_t layer) const;

 private:
  int64_t heads_;
  double scaling_;
  std::shared_ptr<nn::Linear> q_proj_, k_proj_, v_proj_, out_proj_;
};

class OptLayer : public torch::nn::Module {
 public:
  explicit OptLayer(const OptConfig& config);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& bias, nn::KvCache* cache, size_t layer) const;

 private:
  bool pre_norm_;
  std::string act_;
  std::shared_ptr<OptAttention> self_attn_;
  std::shared_ptr<nn::LayerNorm> self_attn_layer_norm_, final_layer_norm_;
  std::shared_ptr<nn::Linear> fc1_, fc2_;
};

class OptModel : public torch::nn::Module {
 public:
  // Loads the weights under `prefix` (e.g. "language_model.model.", "model." or "")
  // plus the lm_head at `lm_head_name` when the embeddings are not tied.
  OptModel(const OptConfig& config, const Checkpoint& checkpoint, const std::string& prefix,
           const std::string& lm_head_name, const nn::Placement& place);

  const OptConfig& config() const { return config_; }
  const nn::Placement& placement() const { return place_; }

  at::Tensor embed_tokens(const at::Tensor& ids) const;  // [B,T] -> [B,T,word_embed_proj_dim]

  // Runs inputs_embeds [B,T,word_embed_proj_dim] whose attention mask is [B,T]
  // (1 real, 0 padding): the full causal forward. With `state`, fills its cache
  // (prefill). With `hidden_states`, appends transformers' hidden states
  // (embeddings + positions, each layer, the final normed state). Returns the
  // final hidden states [B,T,word_embed_proj_dim].
  at::Tensor forward(const at::Tensor& inputs_embeds, const at::Tensor& attention_mask, OptState* state,
                     std::vector<at::Tensor>* hidden_states) const;

  // One token per row ([R] int64) after the cached positions; returns the final
  // hidden state [R,word_embed_proj_dim].
  at::Tensor step(const at::Tensor& tokens, OptState& state) const;

  at::Tensor logits(const at::Tensor& hidden) const;  // [..., D] -> [..., V] float32

 private:
  at::Tensor run_layers(at::Tensor x, const at::Tensor& bias, nn::KvCache* cache,
                        std::vector<at::Tensor>* hidden_states) const;
  OptConfig config_;
  nn::Placement place_;
  std::shared_ptr<nn::Embedding> embed_tokens_, embed_positions_;
  std::shared_ptr<nn::Linear> project_in_, project_out_, lm_head_;
  std::vector<std::shared_ptr<OptLayer>> layers_;
  std::shared_ptr<nn::LayerNorm> final_layer_norm_;
};

}  // namespace capbench::opt
