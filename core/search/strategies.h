#pragma once
// The search strategies behind run_search (core/search.h).
#include "core/plugin_api.h"
#include "core/search.h"

namespace capbench::search {

// Greedy (argmax) or sampling, one row per input (sampling: num_return_sequences rows).
SearchResult sample_or_greedy(TextDecoder& decoder, TextDecoder::Start start, const SearchOptions& options);

// Beam search as transformers 4.40's BeamSearchScorer.
SearchResult beam_search(TextDecoder& decoder, TextDecoder::Start start, const SearchOptions& options);

// Row indices 0..rows-1 each repeated `times` times (expansion to beams / samples).
at::Tensor repeat_rows(int64_t rows, int64_t times, const c10::Device& device);

}  // namespace capbench::search
