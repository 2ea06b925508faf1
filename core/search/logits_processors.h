#pragma once
// transformers 4.40's logits processors and sampling warpers, in its order.
// `running` holds each row's running ids (SearchOptions::initial_ids followed by
// the generated tokens); all rows have the same length.
#include <ATen/core/Tensor.h>
#include <cstdint>
#include <vector>

#include "core/search.h"

namespace capbench::search {

using RunningIds = std::vector<std::vector<int64_t>>;

// repetition_penalty, no_repeat_ngram_size, then min_new_tokens (EOS banned), in
// place on scores [R,V] float32; `generated` = tokens generated so far per row.
void apply_logits_processors(at::Tensor& scores, const RunningIds& running, int64_t generated,
                             const SearchOptions& options);

// temperature, top_k, top_p (filtered tokens get -inf), in place.
void apply_sampling_warpers(at::Tensor& scores, const SearchOptions& options, int64_t min_tokens_to_keep);

// Tokens that would complete an n-gram already present in `ids` (n = ngram_size).
std::vector<int64_t> banned_ngram_tokens(const std::vector<int64_t>& ids, int64_t ngram_size);

}  // namespace capbench::search
