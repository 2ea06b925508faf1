#pragma once
// The search engine: greedy, beam search and sampling over any TextDecoder,
// with transformers 4.40's logits processors. One implementation serves every
// decoder; it only talks to the decoder through start/step/select.
//
// Lengths are counted in GENERATED tokens here. The caller translates
// transformers' or LAVIS's max_length/min_length (see core/generation.cpp and
// the README's "Generation options").
#include <ATen/core/Tensor.h>
#include <cstdint>
#include <string>
#include <vector>

#include "core/plugin_api.h"

namespace capbench {

// transformers' `early_stopping` for beam search.
enum class EarlyStopping {
  heuristic,  // False: stop when the best running beam cannot beat the worst finished one at its current length
  immediate,  // True: stop as soon as num_beams hypotheses are finished
  never,      // "never": stop only when no running beam can still become better (canonical beam search)
};
EarlyStopping parse_early_stopping(const std::string& text);  // "false" | "true" | "never"; throws Error
std::string early_stopping_name(EarlyStopping value);

struct SearchOptions {
  int64_t max_new_tokens = 20;       // generated tokens at most (EOS included)
  int64_t min_new_tokens = 0;        // EOS forbidden while fewer tokens were generated
  int64_t num_beams = 1;             // 1 = greedy or sampling
  double length_penalty = 1.0;       // beam hypothesis score = sum logprobs / generated_len ** length_penalty
  EarlyStopping early_stopping = EarlyStopping::heuristic;
  double repetition_penalty = 1.0;   // CTRL penalty on every token of the running ids (1 = off)
  int64_t no_repeat_ngram_size = 0;  // ban tokens that would repeat an n-gram of the running ids (0 = off)
  bool do_sample = false;            // sample from the warped distribution instead of taking the argmax
  double temperature = 1.0;          // sampling: logits divided by this first
  int64_t top_k = 50;                // sampling: keep the k best tokens (0 = all)
  double top_p = 1.0;                // sampling: keep the smallest set with this probability mass
  uint64_t seed = 0;                 // sampling: seed of a CPU generator created for this call
  int64_t num_return_sequences = 1;  // hypotheses returned per input (<= num_beams for beam search)
  int64_t eos_token_id = -1;         // -1: never stops early
  // The running ids the processors (repetition, n-gram, beam lengths) see before
  // the first generated token: empty for OPT under Blip2 (generation starts from
  // inputs_embeds), {decoder_start_token_id} for T5.
  std::vector<int64_t> initial_ids;
};

struct Hypothesis {
  std::vector<int64_t> tokens;  // generated tokens (initial_ids excluded), EOS included when generated
  double score = 0;             // beam: length-penalised score; else sum of log_softmax(processed logits) of the tokens
  bool ended_with_eos = false;
};

struct SearchResult {
  // One list per input row of `start`, num_return_sequences hypotheses each, best first
  // (sampling: in draw order).
  std::vector<std::vector<Hypothesis>> hypotheses;
  at::Tensor first_logits;  // [B,V] float32 logits of the first step, before any processor
};

// Runs the search from a started decoder state (B rows, one per input). The
// state is consumed: rows are expanded, reordered and dropped through select().
SearchResult run_search(TextDecoder& decoder, TextDecoder::Start start, const SearchOptions& options);

}  // namespace capbench
