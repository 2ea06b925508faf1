#pragma once
// A batch of texts as model inputs: token ids padded to the longest text, with
// the attention mask, on the padding side the model expects.
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "core/tokenizer.h"

namespace capbench {

struct TokenBatch {
  at::Tensor ids;   // [batch, length] int64, pad id where the mask is 0
  at::Tensor mask;  // [batch, length] int64, 1 for real tokens
};

// Encodes each text (with the model's special tokens when add_special_tokens,
// truncated to max_length when > 0) and pads on `padding_side` ("left",
// "right", or "" for the tokenizer's own side). Throws Error when padding is
// needed and the tokenizer has no pad token.
TokenBatch encode_batch(const Tokenizer& tokenizer, const std::vector<std::string>& texts,
                        bool add_special_tokens = true, int64_t max_length = 0, const std::string& padding_side = "");

}  // namespace capbench
