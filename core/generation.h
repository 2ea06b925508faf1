#pragma once
// BLIP-2 caption generation: builds the language model's input from the soft
// prompt and the text prompt exactly as transformers' Blip2ForConditionalGeneration
// .generate does, and runs the search engine (core/search.h) over a TextDecoder.
#include <ATen/core/Tensor.h>
#include <cstdint>
#include <string>
#include <vector>

#include "core/plugin_api.h"
#include "core/search.h"
#include "core/tokenizer.h"

namespace capbench {

// What a user may set; one field per `capbench caption` flag and per
// `generate.*` key of an experiment file. The README maps them to LAVIS and
// transformers options.
struct GenerationOptions {
  int64_t max_new_tokens = 30;      // tokens generated after the prompt (EOS included)
  int64_t min_new_tokens = 0;       // EOS is forbidden before this many new tokens
  int64_t num_beams = 1;            // 1 = greedy or sampling
  double length_penalty = 1.0;      // beam score = sum logprob / length ** length_penalty
  std::string early_stopping = "false";  // "true", "false" or "never" (beam search)
  double repetition_penalty = 1.0;  // > 1 discourages tokens already generated
  int64_t no_repeat_ngram_size = 0; // forbid repeating n-grams of this size (0 = off)
  bool do_sample = false;           // nucleus / top-k sampling instead of search
  double top_p = 1.0;               // nucleus mass kept when sampling
  int64_t top_k = 50;               // tokens kept when sampling (0 = all)
  double temperature = 1.0;         // logits divided by this when sampling
  int64_t num_captions = 1;         // captions returned per image (<= num_beams for beam search)
  uint64_t seed = 0;                // sampling: torch.manual_seed(seed) before transformers' generate
  std::string prompt;               // text after the soft prompt ("a photo of", "Question: … Answer:")
};

struct Caption {
  std::string text;          // decoded, special tokens skipped, stripped
  std::vector<int64_t> ids;  // generated ids as transformers returns them (leading BOS / decoder start, up to EOS)
  double score = 0;          // beam: length-penalised sequence score; otherwise sum of log-probabilities
                             // of the generated tokens under the processed (pre-warper) distribution
};

struct GenerationOutput {
  std::vector<std::vector<Caption>> captions;  // per image, num_captions each, best first; text left empty
  at::Tensor first_logits;                     // [B,V] float32 next-token logits after the prefix
};

// The search settings for `decoder` (EOS, running ids the processors see) from
// the user's options; throws Error for invalid combinations.
SearchOptions search_options(const GenerationOptions& options, const DecoderSpec& spec);

// Generation from prompt ids already tokenised: prompt_ids/prompt_mask [B,P]
// int64 (1 = token, 0 = padding; decoder-only models want LEFT padding), the
// soft prompt [B,Q,D]. options.prompt is ignored here. The batch is one
// transformers generate() call: sampling draws for all rows from one stream.
GenerationOutput generate(TextDecoder& decoder, const at::Tensor& soft_prompt, const at::Tensor& prompt_ids,
                          const at::Tensor& prompt_mask, const GenerationOptions& options);

// generate() with options.prompt encoded by `tokenizer` for every image (an empty
// prompt gives what Blip2 uses without input_ids) and the captions decoded.
// Sampling generates each image on its own from options.seed: an image's
// captions are those transformers 4.40 gives for that image alone after
// torch.manual_seed(seed) (torch 1.13, CPU), whatever batch it is in.
GenerationOutput generate_text(TextDecoder& decoder, const Tokenizer& tokenizer, const at::Tensor& soft_prompt,
                               const GenerationOptions& options);

// Captions for a batch: soft_prompt [B,Q,D] on the decoder's device and dtype.
// Returns B lists of num_captions captions, best first.
std::vector<std::vector<Caption>> generate_captions(TextDecoder& decoder, const Tokenizer& tokenizer,
                                                    const at::Tensor& soft_prompt, const GenerationOptions& options);

}  // namespace capbench
