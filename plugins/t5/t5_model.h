#pragma once
// T5's forward computation as transformers 4.40.2 does it: RMS norm with the
// variance in float32, attention without 1/sqrt(d) scaling, one bucketed relative
// position bias per stack (from block 0, shared by every block), the encoder's
// padding mask and the decoder's causal mask added as finfo.min.
#include <ATen/core/Tensor.h>
#include <cstdint>
#include <vector>

#include "plugins/t5/t5_config.h"
#include "plugins/t5/t5_weights.h"

namespace capbench::t5 {

// Keys and values of the decoder's cross-attention, per block: [R, heads, S, d_kv].
struct CrossAttentionCache {
  std::vector<at::Tensor> keys, values;
};

// Keys and values of the decoder's self-attention, per block, in buffers of
// `capacity` positions of which the first `length` are filled: [R, heads, capacity, d_kv].
struct SelfAttentionCache {
  std::vector<at::Tensor> keys, values;
  int64_t length = 0;
  int64_t capacity = 0;
  // [1, heads, 1, capacity]: column j holds the bias for distance capacity-1-j, so the
  // bias row of query position p is the last p+1 columns (no per-step bucket math).
  at::Tensor bias_by_reversed_distance;
};

class T5Model {
 public:
  T5Model(T5Config config, T5Weights weights);

  const T5Config& config() const { return config_; }
  at::ScalarType dtype() const { return weights_.shared.scalar_type(); }
  c10::Device device() const { return weights_.shared.device(); }

  at::Tensor embed(const at::Tensor& ids) const;  // [B,T] -> [B,T,D]
  // mask [B,S] (1 = attend) -> additive bias [B,1,1,S] in the model dtype.
  at::Tensor padding_bias(const at::Tensor& mask) const;

  // The encoder over inputs_embeds [B,S,D]; returns its final-norm output. With
  // hidden_states: the input, each block's output but the last, then the output.
  at::Tensor encode(const at::Tensor& inputs_embeds, const at::Tensor& padding_bias,
                    std::vector<at::Tensor>* hidden_states = nullptr) const;
  CrossAttentionCache cross_attention_cache(const at::Tensor& encoder_output) const;

  // The decoder over whole sequences decoder_ids [B,T] (causal); returns the
  // final-norm output [B,T,D]; hidden_states as for encode().
  at::Tensor decode(const at::Tensor& decoder_ids, const CrossAttentionCache& cross, const at::Tensor& padding_bias,
                    std::vector<at::Tensor>* hidden_states = nullptr) const;

  SelfAttentionCache empty_self_attention_cache(int64_t rows) const;
  // One decoder position for every row: tokens [R] -> final-norm output [R,D];
  // appends the tokens' keys and values to `cache`.
  at::Tensor decode_step(const at::Tensor& tokens, SelfAttentionCache& cache, const CrossAttentionCache& cross,
                         const at::Tensor& padding_bias) const;

  // Decoder output [...,D] -> logits [...,V] in float32.
  at::Tensor logits(const at::Tensor& decoder_output) const;

 private:
  at::Tensor norm(const at::Tensor& x, const at::Tensor& weight) const;
  at::Tensor feed_forward(const at::Tensor& x, const FeedForwardWeights& w) const;
  at::Tensor split_heads(const at::Tensor& x) const;  // [B,T,inner] -> [B,H,T,dk]
  at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias,
                    const at::Tensor& o) const;  // heads in, projected [B,T,D] out
  // relative_attention_bias(bucket(key - query)) -> [1,H,Q,K]
  at::Tensor position_bias(const at::Tensor& relative_position, bool bidirectional, const at::Tensor& table) const;
  void grow(SelfAttentionCache& cache, int64_t capacity) const;

  T5Config config_;
  T5Weights weights_;
};

// transformers' T5Attention._relative_position_bucket (float32 log, truncated toward zero).
at::Tensor relative_position_bucket(const at::Tensor& relative_position, bool bidirectional, int64_t num_buckets,
                                    int64_t max_distance);

}  // namespace capbench::t5
