// Greedy search and sampling: one token per row and step, rows finish
// independently and leave the decoder state when they do.
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "core/search/logits_processors.h"
#include "core/search/strategies.h"

namespace capbench::search {

namespace {

at::Tensor long_tensor(const std::vector<int64_t>& values, const c10::Device& device) {
  return torch::tensor(values, torch::kLong).to(device);
}

}  // namespace

SearchResult sample_or_greedy(TextDecoder& decoder, TextDecoder::Start start, const SearchOptions& options) {
  SearchResult result;
  const int64_t inputs = start.logits.size(0);
  const int64_t per_input = options.do_sample ? options.num_return_sequences : 1;
  const int64_t rows = inputs * per_input;
  const c10::Device device = start.logits.device();
  result.first_logits = start.logits.to(torch::kFloat);

  at::Tensor logits = start.logits;
  if (per_input > 1) {
    at::Tensor expand = repeat_rows(inputs, per_input, device);
    decoder.select(*start.state, expand);
    logits = logits.index_select(0, expand);
  }

  std::vector<Hypothesis> hypotheses(rows);
  std::vector<int64_t> active(rows);  // hypothesis index of each row of the decoder state
  for (int64_t r = 0; r < rows; ++r) active[r] = r;
  RunningIds running(rows, options.initial_ids);

  // Sampling draws for every row, finished or not, as transformers does, so that
  // a seed gives the draws of torch.manual_seed(seed) + generate on the CPU.
  at::Generator generator;
  if (options.do_sample) generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);

  for (int64_t generated = 0; generated < options.max_new_tokens; ++generated) {
    at::Tensor scores = logits.to(torch::kFloat);
    if (options.do_sample) scores = scores.cpu();
    apply_logits_processors(scores, running, generated, options);
    at::Tensor log_probs = scores.log_softmax(-1);
    at::Tensor tokens;
    if (options.do_sample) {
      apply_sampling_warpers(scores, options, 1);
      at::Tensor probs = scores.softmax(-1);
      at::Tensor all = torch::zeros({rows, probs.size(1)}, probs.options());
      all.select(1, 0).fill_(1);  // finished rows: any valid distribution, the draw is discarded
      all.index_copy_(0, long_tensor(active, torch::kCPU), probs);
      tokens = at::multinomial(all, 1, false, generator).squeeze(1).index_select(0, long_tensor(active, torch::kCPU));
    } else {
      tokens = scores.argmax(-1);
    }
    at::Tensor chosen = log_probs.gather(1, tokens.to(log_probs.device()).unsqueeze(1)).squeeze(1).cpu();
    tokens = tokens.cpu();
    const int64_t* token = tokens.data_ptr<int64_t>();
    const float* logp = chosen.data_ptr<float>();

    std::vector<int64_t> keep, next_tokens, next_active;
    RunningIds next_running;
    for (size_t r = 0; r < active.size(); ++r) {
      Hypothesis& h = hypotheses[active[r]];
      h.tokens.push_back(token[r]);
      h.score += logp[r];
      if (token[r] == options.eos_token_id) {
        h.ended_with_eos = true;
        continue;
      }
      keep.push_back(static_cast<int64_t>(r));
      next_tokens.push_back(token[r]);
      next_active.push_back(active[r]);
      next_running.push_back(std::move(running[r]));
      next_running.back().push_back(token[r]);
    }
    if (keep.empty() || generated + 1 == options.max_new_tokens) break;
    if (keep.size() != active.size()) decoder.select(*start.state, long_tensor(keep, device));
    active = std::move(next_active);
    running = std::move(next_running);
    logits = decoder.step(*start.state, long_tensor(next_tokens, device));
  }

  result.hypotheses.resize(inputs);
  for (int64_t r = 0; r < rows; ++r) result.hypotheses[r / per_input].push_back(std::move(hypotheses[r]));
  return result;
}

}  // namespace capbench::search
