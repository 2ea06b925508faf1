#include "core/token_batch.h"

#include <ATen/Functions.h>

#include <algorithm>

#include "core/error.h"

namespace capbench {

TokenBatch encode_batch(const Tokenizer& tokenizer, const std::vector<std::string>& texts, bool add_special_tokens,
                        int64_t max_length, const std::string& padding_side) {
  const std::string side = padding_side.empty() ? tokenizer.padding_side() : padding_side;
  if (side != "left" && side != "right") throw Error("padding side must be \"left\" or \"right\", not \"" + side + "\"");
  std::vector<std::vector<int64_t>> rows;
  rows.reserve(texts.size());
  size_t length = 0;
  for (const auto& text : texts) {
    rows.push_back(tokenizer.encode(text, add_special_tokens, max_length));
    length = std::max(length, rows.back().size());
  }
  const int64_t pad = tokenizer.special_tokens().pad;
  const auto batch = static_cast<int64_t>(rows.size());
  TokenBatch out;
  out.ids = at::full({batch, static_cast<int64_t>(length)}, pad, at::kLong);
  out.mask = at::zeros({batch, static_cast<int64_t>(length)}, at::kLong);
  auto ids = out.ids.accessor<int64_t, 2>();
  auto mask = out.mask.accessor<int64_t, 2>();
  for (int64_t b = 0; b < batch; ++b) {
    const auto& row = rows[b];
    if (row.size() < length && pad < 0)
      throw Error("cannot pad a batch: the tokenizer has no pad token (texts of different lengths)");
    const size_t offset = side == "left" ? length - row.size() : 0;
    for (size_t t = 0; t < row.size(); ++t) {
      ids[b][offset + t] = row[t];
      mask[b][offset + t] = 1;
    }
  }
  return out;
}

}  // namespace capbench
