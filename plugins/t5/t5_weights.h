#pragma once
// The weights of a T5ForConditionalGeneration, loaded from a checkpoint under the
// names transformers gives them (shared.weight, encoder.block.N.layer.0.SelfAttention.q.weight, ...).
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <vector>

#include "core/checkpoint.h"
#include "plugins/t5/t5_config.h"

namespace capbench::t5 {

struct AttentionWeights {
  at::Tensor norm;  // [D] RMS norm before the attention
  at::Tensor q, k, v;  // [inner, D]
  at::Tensor o;        // [D, inner]
};

struct FeedForwardWeights {
  at::Tensor norm;        // [D]
  at::Tensor wi_0, wi_1;  // [d_ff, D]; gated: act(wi_0 x) * wi_1 x; otherwise only wi_0 (HF's `wi`)
  at::Tensor wo;          // [D, d_ff]
};

struct EncoderBlock {
  AttentionWeights self_attention;
  FeedForwardWeights feed_forward;
};

struct DecoderBlock {
  AttentionWeights self_attention;
  AttentionWeights cross_attention;  // HF's EncDecAttention
  FeedForwardWeights feed_forward;
};

struct T5Weights {
  at::Tensor shared;                  // [V, D] token embeddings of encoder and decoder
  at::Tensor encoder_relative_bias;   // [buckets, heads], from encoder block 0
  at::Tensor decoder_relative_bias;   // [buckets, heads], from decoder block 0
  std::vector<EncoderBlock> encoder;
  at::Tensor encoder_final_norm;      // [D]
  std::vector<DecoderBlock> decoder;
  at::Tensor decoder_final_norm;      // [D]
  at::Tensor lm_head;                 // [V, D]; the same tensor as `shared` when tied
};

// Loads every tensor under source.prefix strictly (missing, unexpected or misshapen
// tensors are one Error naming them), converted to dtype on device.
T5Weights load_t5_weights(const Checkpoint& checkpoint, const T5Source& source, at::ScalarType dtype,
                          const c10::Device& device);

}  // namespace capbench::t5
