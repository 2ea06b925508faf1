#pragma once
// The intermediate tensors of one minilm forward pass, for reference checks.
// The plugin exports, besides its component, the Boost.DLL alias
// `capbench_minilm_forward` of type MiniLMForwardFn: it runs the texts as ONE
// batch, in input order, padded to the longest (as sentence-transformers'
// tokenizer does), on an embedder the same plugin created.
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "core/plugin_api.h"

namespace capbench::minilm {

struct MiniLMForward {
  at::Tensor input_ids;          // [N,T] int64
  at::Tensor attention_mask;     // [N,T] int64
  at::Tensor embedding_output;   // [N,T,D]
  at::Tensor last_hidden_state;  // [N,T,D]
  at::Tensor pooled;             // [N,P] before Normalize
  at::Tensor embeddings;         // [N,P] what embed() returns
};

using MiniLMForwardFn = MiniLMForward(SentenceEmbedder& embedder, const std::vector<std::string>& texts);

}  // namespace capbench::minilm
