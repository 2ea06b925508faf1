#pragma once
// OPTForCausalLM as transformers 4.40 computes it, from input embeddings, with
// a preallocated key/value cache for incremental decoding.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <memory>
#include <vector>

#include "core/checkpoint.h"
#include "plugins/opt/opt_config.h"

namespace capbench::opt {

// Keys and values of every layer for R rows: [R,H,capacity,head_dim] each, the
// first `length` positions filled. key_bias [R,capacity] is 0 where a key may be
// attended to and the dtype's lowest value where it is padding.
struct KvCache {
  std::vector<at::Tensor> keys, values;
  at::Tensor key_bias;
  at::Tensor next_position;  // [R] int64: position id of the row's next token (real tokens so far)
  int64_t max_next_position = 0;  // upper bound of next_position, kept on the host
  int64_t length = 0;
  int64_t capacity = 0;

  void keep_rows(const at::Tensor& rows);  // index_select on every tensor (rows on the cache's device)
};

class OptModel {
 public:
  // Loads the weights under `prefix` (e.g. "language_model.model.", "model." or "")
  // plus the lm_head at `lm_head_name` when the embeddings are not tied.
  OptModel(const OptConfig& config, const Checkpoint& checkpoint, const std::string& prefix,
           const std::string& lm_head_name, at::ScalarType dtype, c10::Device device);
  ~OptModel();

  const OptConfig& config() const { return config_; }
  at::ScalarType dtype() const { return dtype_; }
  const c10::Device& device() const { return device_; }

  at::Tensor embed_tokens(const at::Tensor& ids) const;  // [B,T] -> [B,T,word_embed_proj_dim]

  // Runs inputs_embeds [B,T,word_embed_proj_dim] whose attention mask is [B,T]
  // (1 real, 0 padding): the full causal forward. With `cache`, the cache is
  // created (prefill). With `hidden_states`, appends transformers' hidden states
  // (embeddings + positions, each layer, the final normed state). Returns the
  // final hidden states [B,T,word_embed_proj_dim].
  at::Tensor forward(const at::Tensor& inputs_embeds, const at::Tensor& attention_mask, KvCache* cache,
                     std::vector<at::Tensor>* hidden_states) const;

  // One token per row ([R] int64) after the cached positions; returns the final
  // hidden state [R,word_embed_proj_dim].
  at::Tensor step(const at::Tensor& tokens, KvCache& cache) const;

  at::Tensor logits(const at::Tensor& hidden) const;  // [..., D] -> [..., V] float32

 private:
  struct Weights;
  at::Tensor run_layers(at::Tensor x, const at::Tensor& bias, KvCache* cache, int64_t start,
                        std::vector<at::Tensor>* hidden_states) const;
  OptConfig config_;
  at::ScalarType dtype_;
  c10::Device device_;
  std::shared_ptr<Weights> weights_;
};

}  // namespace capbench::opt
