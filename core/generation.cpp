// Blip2ForConditionalGeneration.generate (transformers 4.40.2) over the search
// engine: the language model starts from [soft prompt; embed(prompt ids)] with
// mask [ones(Q); prompt mask]; a decoder-only model's running ids start empty
// (its prompt is not returned, one BOS is prepended to the output), an
// encoder-decoder model's start with decoder_start_token_id.
#include "core/generation.h"

#include <torch/torch.h>

#include "core/error.h"

namespace capbench {

SearchOptions search_options(const GenerationOptions& options, const DecoderSpec& spec) {
  SearchOptions s;
  s.max_new_tokens = options.max_new_tokens;
  s.min_new_tokens = options.min_new_tokens;
  s.num_beams = options.num_beams;
  s.length_penalty = options.length_penalty;
  s.early_stopping = parse_early_stopping(options.early_stopping);
  s.repetition_penalty = options.repetition_penalty;
  s.no_repeat_ngram_size = options.no_repeat_ngram_size;
  s.do_sample = options.do_sample;
  s.temperature = options.temperature;
  s.top_k = options.top_k;
  s.top_p = options.top_p;
  s.seed = options.seed;
  s.num_return_sequences = options.num_captions;
  s.eos_token_id = spec.eos_token_id;
  if (spec.encoder_decoder) {
    if (spec.decoder_start_token_id < 0) throw Error("the encoder-decoder model has no decoder_start_token_id");
    s.initial_ids = {spec.decoder_start_token_id};
  }
  return s;
}

GenerationOutput generate(TextDecoder& decoder, const at::Tensor& soft_prompt, const at::Tensor& prompt_ids,
                          const at::Tensor& prompt_mask, const GenerationOptions& options) {
  c10::InferenceMode inference;
  const DecoderSpec& spec = decoder.spec();
  const SearchOptions search = search_options(options, spec);
  if (soft_prompt.dim() != 3) throw Error("soft prompt must be [B,Q,D]");
  if (prompt_ids.dim() != 2 || prompt_ids.size(0) != soft_prompt.size(0) || !prompt_mask.sizes().equals(prompt_ids.sizes()))
    throw Error("prompt ids and mask must be [B,P] with B = the soft prompt's batch size");

  SearchResult found =
      run_search(decoder, decoder.start_for_steps(soft_prompt, prompt_ids, prompt_mask, search.max_new_tokens), search);

  // What transformers returns ahead of the generated tokens.
  const int64_t lead = spec.encoder_decoder ? spec.decoder_start_token_id : spec.bos_token_id;
  GenerationOutput out;
  out.first_logits = found.first_logits;
  for (auto& per_image : found.hypotheses) {
    std::vector<Caption> captions;
    for (Hypothesis& h : per_image) {
      Caption c;
      if (lead >= 0) c.ids.push_back(lead);
      c.ids.insert(c.ids.end(), h.tokens.begin(), h.tokens.end());
      c.score = h.score;
      captions.push_back(std::move(c));
    }
    out.captions.push_back(std::move(captions));
  }
  return out;
}

namespace {

std::string strip(const std::string& text) {
  const char* space = " \t\n\r\f\v";
  const size_t begin = text.find_first_not_of(space);
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(space) - begin + 1);
}

}  // namespace

GenerationOutput generate_text(TextDecoder& decoder, const Tokenizer& tokenizer, const at::Tensor& soft_prompt,
                               const GenerationOptions& options) {
  // An empty prompt encodes to what Blip2 uses without input_ids: OPT [bos], T5 [eos] (tokenizer("")).
  const std::vector<int64_t> ids = tokenizer.encode(options.prompt, true);
  if (ids.empty()) throw Error("the prompt encodes to no tokens");
  const at::Tensor one_prompt = torch::tensor(ids, torch::kLong).unsqueeze(0);
  const int64_t batch = soft_prompt.size(0);
  GenerationOutput out;
  if (!options.do_sample || batch == 1) {
    at::Tensor prompt_ids = one_prompt.repeat({batch, 1});
    out = generate(decoder, soft_prompt, prompt_ids, torch::ones_like(prompt_ids), options);
  } else {
    // Sampling: each image alone from the seed, so that its captions are those of
    // torch.manual_seed(seed) + generate on that image, whatever the batch.
    std::vector<at::Tensor> first_logits;
    for (int64_t i = 0; i < batch; ++i) {
      GenerationOutput one = generate(decoder, soft_prompt.narrow(0, i, 1), one_prompt, torch::ones_like(one_prompt), options);
      out.captions.push_back(std::move(one.captions.at(0)));
      first_logits.push_back(one.first_logits);
    }
    out.first_logits = torch::cat(first_logits, 0);
  }
  for (auto& per_image : out.captions)
    for (Caption& c : per_image) c.text = strip(tokenizer.decode(c.ids, true));
  return out;
}

std::vector<std::vector<Caption>> generate_captions(TextDecoder& decoder, const Tokenizer& tokenizer,
                                                    const at::Tensor& soft_prompt, const GenerationOptions& options) {
  return generate_text(decoder, tokenizer, soft_prompt, options).captions;
}

}  // namespace capbench
