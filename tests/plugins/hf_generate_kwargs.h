#pragma once
// The translation of a fixture case's transformers generate() kwargs into
// capbench's GenerationOptions (the README's "Generation options" table as code),
// shared by the decoder tests and the end-to-end `capbench caption` tests.
#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/generation.h"

namespace capbench::testing {

// transformers' Blip2ForConditionalGeneration.generate kwargs -> capbench options.
// Length rules (notes "generate"): a decoder-only LM generates from
// inputs_embeds with empty running ids, Blip2 rewrites max_length to
// max_length + Q - 1 and min_length to min_length + Q, and generate subtracts
// the Q + P input embeddings again (P = prompt ids incl. BOS, or 1 for the BOS
// Blip2 adds without a prompt): max_length L -> L - 1 - P new tokens,
// min_length m -> max(m - P, 0). An encoder-decoder LM counts its decoder start
// token in max_length / min_length: L -> L - 1, m -> max(m - 1, 0).
// max_new_tokens / min_new_tokens are new tokens in both.
inline GenerationOptions options_from_hf_kwargs(const nlohmann::json& kwargs, bool decoder_only, int64_t prompt_len) {
  GenerationOptions o;
  const int64_t counted = decoder_only ? prompt_len : 1;
  if (kwargs.contains("max_new_tokens"))
    o.max_new_tokens = kwargs["max_new_tokens"].get<int64_t>();
  else
    o.max_new_tokens = kwargs.value("max_length", int64_t{20}) - 1 - (decoder_only ? prompt_len : 0);
  if (kwargs.contains("min_new_tokens"))
    o.min_new_tokens = kwargs["min_new_tokens"].get<int64_t>();
  else
    o.min_new_tokens = std::max<int64_t>(kwargs.value("min_length", int64_t{0}) - counted, 0);
  o.num_beams = kwargs.value("num_beams", int64_t{1});
  o.length_penalty = kwargs.value("length_penalty", 1.0);
  if (kwargs.contains("early_stopping")) {
    const auto& e = kwargs["early_stopping"];
    o.early_stopping = e.is_boolean() ? (e.get<bool>() ? "true" : "false") : e.get<std::string>();
  }
  o.repetition_penalty = kwargs.value("repetition_penalty", 1.0);
  o.no_repeat_ngram_size = kwargs.value("no_repeat_ngram_size", int64_t{0});
  o.do_sample = kwargs.value("do_sample", false);
  o.temperature = kwargs.value("temperature", 1.0);
  o.top_k = kwargs.value("top_k", int64_t{50});
  o.top_p = kwargs.value("top_p", 1.0);
  o.num_captions = kwargs.value("num_return_sequences", int64_t{1});
  return o;
}

}  // namespace capbench::testing
