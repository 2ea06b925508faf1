#pragma once
// T5ForConditionalGeneration as transformers 4.40.2 computes it: RMS norm with
// the variance in float32, attention without 1/sqrt(d) scaling and with the
// softmax in float32, one bucketed relative position bias per stack (from block
// 0, shared by every block), the encoder's padding mask and the decoder's
// causal mask added as finfo.min. The module tree carries the checkpoint's
// names (shared.weight, encoder.block.0.layer.0.SelfAttention.q.weight, ...).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/checkpoint.h"
#include "core/nn/decoder_state.h"
#include "core/nn/embedding.h"
#include "core/nn/kv_cache.h"
#include "core/nn/linear.h"
#include "core/nn/norms.h"
#include "core/nn/placement.h"
#include "plugins/t5/t5_config.h"

namespace capbench::t5 {

// What the decoder carries from one step to the next, per row.
struct T5State : nn::BatchState {
  at::Tensor padding_bias;  // [R,1,1,S]: the encoder input's padding, for the cross-attention
  nn::KvCache cross;        // every block's cross-attention keys and values, computed once
  nn::KvCache self;         // the decoder's own keys and values
  // [1,H,1,self.capacity()]: column j holds the self-attention bias of distance
  // capacity-1-j, so query position p reads the last p+1 columns (no per-step
  // bucket math). The same for every row: not tracked.
  at::Tensor bias_by_reversed_distance;
  int64_t steps = 0;  // decoding steps the self cache is allocated for (0: unknown, it grows)
  T5State() {
    track(padding_bias);
    track(cross);
    track(self);
  }
};

// T5LayerSelfAttention / T5LayerCrossAttention: layer_norm, then the attention
// `kind` ("SelfAttention" or "EncDecAttention") with q, k, v, o.
class T5AttentionLayer : public torch::nn::Module {
 public:
  T5AttentionLayer(const T5Config& config, const std::string& kind, bool relative_bias);
  // h + o(attention(x, x)), x = norm(h); with a cache, x's keys and values are
  // appended and every cached position is attended to.
  at::Tensor self_attention(const at::Tensor& h, const at::Tensor& bias, nn::KvCache* cache, size_t layer) const;
  // h + o(attention(q(norm(h)), keys, values)).
  at::Tensor cross_attention(const at::Tensor& h, const at::Tensor& keys, const at::Tensor& values,
                             const at::Tensor& bias) const;
  // The keys and values of `source` [B,S,D], split into heads [B,H,S,d_kv].
  std::pair<at::Tensor, at::Tensor> keys_values(const at::Tensor& source) const;
  // The stack's relative position bias table [buckets, heads] (block 0 only).
  const nn::Embedding& relative_attention_bias() const { return *relative_attention_bias_; }

 private:
  at::Tensor attend(const at::Tensor& h, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                    const at::Tensor& bias) const;
  int64_t heads_;
  std::shared_ptr<nn::RMSNorm> layer_norm_;
  std::shared_ptr<nn::Linear> q_, k_, v_, o_;
  std::shared_ptr<nn::Embedding> relative_attention_bias_;
};

// T5LayerFF: layer_norm, then DenseReluDense (wi, or gated wi_0 / wi_1; wo).
class T5FeedForwardLayer : public torch::nn::Module {
 public:
  explicit T5FeedForwardLayer(const T5Config& config);
  at::Tensor forward(const at::Tensor& h) const;  // h + ff(norm(h))

 private:
  std::string act_;
  std::shared_ptr<nn::RMSNorm> layer_norm_;
  std::shared_ptr<nn::Linear> wi_0_, wi_1_, wo_;  // wi_1_ only when gated; wi_0_ is HF's `wi` otherwise
};

// T5Block: layer.0 self-attention, (decoder) layer.1 cross-attention, then the feed-forward.
struct T5Block : torch::nn::Module {
  T5Block(const T5Config& config, bool decoder, bool first);
  std::shared_ptr<T5AttentionLayer> self_attention, cross_attention;
  std::shared_ptr<T5FeedForwardLayer> feed_forward;
};

// T5Stack: the blocks and the final norm.
struct T5Stack : torch::nn::Module {
  T5Stack(const T5Config& config, bool decoder);
  // relative_attention_bias(bucket(key - query)) for relative positions [Q,K]: [1,H,Q,K].
  at::Tensor position_bias(const at::Tensor& relative_position) const;
  bool bidirectional;
  int64_t num_buckets, max_distance;
  std::vector<std::shared_ptr<T5Block>> blocks;
  std::shared_ptr<nn::RMSNorm> final_layer_norm;
};

class T5Model : public torch::nn::Module {
 public:
  // Loads every tensor under `prefix` strictly (missing, unexpected or
  // misshapen tensors are one Error naming them).
  T5Model(T5Config config, const Checkpoint& checkpoint, const std::string& prefix, const nn::Placement& place);

  const T5Config& config() const { return config_; }
  const nn::Placement& placement() const { return place_; }

  at::Tensor embed(const at::Tensor& ids) const;  // [B,T] -> [B,T,D]

  // The encoder over inputs_embeds [B,S,D] with its padding mask [B,S];
  // returns its final-norm output. With hidden_states: the input, each block's
  // output but the last, then the output.
  at::Tensor encode(const at::Tensor& inputs_embeds, const at::Tensor& padding_bias,
                    std::vector<at::Tensor>* hidden_states = nullptr) const;
  // The state for decode_step(): every block's cross-attention keys and values
  // over the encoder output, and an empty self-attention cache.
  void start_state(T5State& state, const at::Tensor& encoder_output, const at::Tensor& padding_bias) const;

  // The decoder over whole sequences decoder_ids [B,T] (causal); returns the
  // final-norm output [B,T,D]; hidden_states as for encode().
  at::Tensor decode(const at::Tensor& decoder_ids, const at::Tensor& encoder_output, const at::Tensor& padding_bias,
                    std::vector<at::Tensor>* hidden_states = nullptr) const;
  // One decoder position for every row: tokens [R] -> final-norm output [R,D].
  at::Tensor decode_step(const at::Tensor& tokens, T5State& state) const;

  // Decoder output [...,D] -> logits [...,V] in float32.
  at::Tensor logits(const at::Tensor& decoder_output) const;

 private:
  T5Config config_;
  nn::Placement place_;
  std::shared_ptr<nn::Embedding> shared_;
  std::shared_ptr<T5Stack> encoder_, decoder_;
  std::shared_ptr<nn::Linear> lm_head_;
};

// transformers' T5Attention._relative_position_bucket (float32 log, truncated toward zero).
at::Tensor relative_position_bucket(const at::Tensor& relative_position, bool bidirectional, int64_t num_buckets,
                                    int64_t max_distance);

}  // namespace capbench::t5
