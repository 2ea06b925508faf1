#include "core/search.h"

#include <torch/torch.h>

#include "core/error.h"
#include "core/search/strategies.h"

namespace capbench {

EarlyStopping parse_early_stopping(const std::string& text) {
  if (text == "false" || text == "False") return EarlyStopping::heuristic;
  if (text == "true" || text == "True") return EarlyStopping::immediate;
  if (text == "never") return EarlyStopping::never;
  throw Error("early_stopping must be true, false or never, not '" + text + "'");
}

std::string early_stopping_name(EarlyStopping value) {
  switch (value) {
    case EarlyStopping::heuristic: return "false";
    case EarlyStopping::immediate: return "true";
    case EarlyStopping::never: return "never";
  }
  return "false";
}

namespace {

void validate(const SearchOptions& o, const DecoderSpec& spec) {
  if (o.max_new_tokens < 1) throw Error("max_new_tokens must be at least 1, not " + std::to_string(o.max_new_tokens));
  if (o.min_new_tokens < 0) throw Error("min_new_tokens must not be negative");
  if (o.num_beams < 1) throw Error("num_beams must be at least 1");
  if (o.num_return_sequences < 1) throw Error("num_captions must be at least 1");
  if (o.num_beams > 1 && o.num_return_sequences > o.num_beams)
    throw Error("num_captions (" + std::to_string(o.num_return_sequences) + ") must not exceed num_beams (" +
                std::to_string(o.num_beams) + ")");
  if (o.num_beams == 1 && !o.do_sample && o.num_return_sequences > 1)
    throw Error("greedy search returns one caption per image: use beams or sampling for num_captions > 1");
  if (o.do_sample && !(o.temperature > 0)) throw Error("temperature must be positive");
  if (o.do_sample && (o.top_p <= 0 || o.top_p > 1)) throw Error("top_p must be in (0, 1]");
  if (o.top_k < 0) throw Error("top_k must not be negative");
  if (o.repetition_penalty <= 0) throw Error("repetition_penalty must be positive");
  if (o.eos_token_id >= spec.vocab_size) throw Error("eos_token_id is outside the decoder's vocabulary");
}

}  // namespace

SearchResult run_search(TextDecoder& decoder, TextDecoder::Start start, const SearchOptions& options) {
  validate(options, decoder.spec());
  if (!start.state || !start.logits.defined() || start.logits.dim() != 2)
    throw Error("decoder start() returned no state or logits that are not [B,V]");
  if (options.num_beams > 1) return search::beam_search(decoder, std::move(start), options);
  return search::sample_or_greedy(decoder, std::move(start), options);
}

namespace search {

at::Tensor repeat_rows(int64_t rows, int64_t times, const c10::Device& device) {
  return torch::arange(rows, torch::TensorOptions().dtype(torch::kLong).device(device)).repeat_interleave(times);
}

}  // namespace search

}  // namespace capbench
