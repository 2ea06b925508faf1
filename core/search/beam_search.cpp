// Beam search with the semantics of transformers 4.40's BeamSearchScorer and
// BeamHypotheses: log-softmax scores, processors, + running beam scores, the
// best 2*num_beams candidates over num_beams*vocab, finished hypotheses scored
// sum_logprobs / generated_len ** length_penalty. Inputs that are done leave
// the decoder state. With do_sample it is transformers' beam sample: the
// candidates are drawn instead of taken from the top.
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/search/logits_processors.h"
#include "core/search/strategies.h"

namespace capbench::search {

namespace {

struct FinishedHypothesis {
  double score;
  std::vector<int64_t> running;  // running ids, initial ids included, EOS excluded
  bool ended_with_eos;
};

// The n-best list of one input (BeamHypotheses).
class HypothesisList {
 public:
  HypothesisList(int64_t num_beams, double length_penalty, EarlyStopping early_stopping, int64_t max_length)
      : num_beams_(num_beams), length_penalty_(length_penalty), early_stopping_(early_stopping),
        max_length_(max_length) {}

  void add(std::vector<int64_t> running, double sum_logprobs, int64_t generated_len, bool ended_with_eos) {
    const double score = sum_logprobs / std::pow(static_cast<double>(generated_len), length_penalty_);
    if (static_cast<int64_t>(beams_.size()) < num_beams_ || score > worst_score_) {
      beams_.push_back({score, std::move(running), ended_with_eos});
      if (static_cast<int64_t>(beams_.size()) > num_beams_) {
        // Drop the worst (the first of equal scores), as sorted((score, index)) does.
        std::vector<std::pair<double, size_t>> order;
        for (size_t i = 0; i < beams_.size(); ++i) order.emplace_back(beams_[i].score, i);
        std::sort(order.begin(), order.end());
        beams_.erase(beams_.begin() + static_cast<std::ptrdiff_t>(order[0].second));
        worst_score_ = order[1].first;
      } else {
        worst_score_ = std::min(score, worst_score_);
      }
    }
  }

  // cur_len and decoder_prompt_len as transformers counts them (running ids + 1).
  bool is_done(double best_sum_logprobs, int64_t cur_len, int64_t decoder_prompt_len) const {
    if (static_cast<int64_t>(beams_.size()) < num_beams_) return false;
    if (early_stopping_ == EarlyStopping::immediate) return true;
    int64_t length = cur_len - decoder_prompt_len;
    if (early_stopping_ == EarlyStopping::never && length_penalty_ > 0.0) length = max_length_ - decoder_prompt_len;
    const double highest_attainable = best_sum_logprobs / std::pow(static_cast<double>(length), length_penalty_);
    return worst_score_ >= highest_attainable;
  }

  // Best first; among equal scores the later added first (sorted + pop()).
  std::vector<FinishedHypothesis> best(int64_t count) const {
    std::vector<FinishedHypothesis> sorted = beams_;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const FinishedHypothesis& a, const FinishedHypothesis& b) { return a.score < b.score; });
    std::vector<FinishedHypothesis> out;
    for (int64_t i = 0; i < count && !sorted.empty(); ++i) {
      out.push_back(std::move(sorted.back()));
      sorted.pop_back();
    }
    return out;
  }

 private:
  int64_t num_beams_;
  double length_penalty_;
  EarlyStopping early_stopping_;
  int64_t max_length_;
  std::vector<FinishedHypothesis> beams_;
  double worst_score_ = 1e9;
};

at::Tensor long_tensor(const std::vector<int64_t>& values, const c10::Device& device) {
  return torch::tensor(values, torch::kLong).to(device);
}

// Beam sample's candidates: 2*beams drawn without replacement from the softmax
// over each active input's beams x vocab of `scores` (warped log-probabilities
// plus beam scores), best first. Every input draws, done or not, as in
// transformers, so that a seed gives its random stream on the CPU.
std::tuple<at::Tensor, at::Tensor> sample_candidates(const at::Tensor& scores, const std::vector<int64_t>& active,
                                                    int64_t inputs, int64_t beams, at::Generator& generator) {
  const int64_t groups = static_cast<int64_t>(active.size());
  at::Tensor flat = scores.view({groups, -1}).cpu();
  at::Tensor all = torch::ones({inputs, flat.size(1)});  // done inputs: any valid distribution, the draw is discarded
  const at::Tensor rows = long_tensor(active, torch::kCPU);
  all.index_copy_(0, rows, flat.softmax(-1));
  at::Tensor drawn;
  try {
    drawn = at::multinomial(all, 2 * beams, false, generator).index_select(0, rows);
  } catch (const c10::Error&) {
    throw Error("beam sample needs 2 * num_beams = " + std::to_string(2 * beams) +
                " candidates with a nonzero probability; top_k / top_p leave fewer");
  }
  auto [sorted, order] = flat.gather(1, drawn).sort(1, /*descending=*/true);
  return {sorted, drawn.gather(1, order)};
}

}  // namespace

SearchResult beam_search(TextDecoder& decoder, TextDecoder::Start start, const SearchOptions& options) {
  SearchResult result;
  const int64_t inputs = start.logits.size(0);
  const int64_t beams = options.num_beams;
  const int64_t vocab = start.logits.size(1);
  const c10::Device device = start.logits.device();
  const int64_t prompt_len = static_cast<int64_t>(options.initial_ids.size());  // decoder_prompt_len
  const int64_t max_length = prompt_len + options.max_new_tokens;
  result.first_logits = start.logits.to(torch::kFloat);

  // Prefill once per input, then copy its state to the beams.
  at::Tensor expand = repeat_rows(inputs, beams, device);
  decoder.select(*start.state, expand);
  at::Tensor logits = start.logits.index_select(0, expand);

  std::vector<HypothesisList> lists(
      inputs, HypothesisList(beams, options.length_penalty, options.early_stopping, max_length));
  std::vector<int64_t> active(inputs);  // input of each group of `beams` rows in the decoder state
  for (int64_t i = 0; i < inputs; ++i) active[i] = i;
  // Beam search starts from the first beam only (the others at -1e9); transformers'
  // beam sample starts every beam at 0, so its first draw is over num_beams equal copies.
  std::vector<float> beam_scores(inputs * beams, options.do_sample ? 0.0f : -1e9f);
  for (int64_t i = 0; i < inputs; ++i) beam_scores[i * beams] = 0.0f;
  RunningIds running(inputs * beams, options.initial_ids);
  at::Generator generator;
  if (options.do_sample) generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);

  for (int64_t generated = 0;;) {
    at::Tensor scores = logits.to(torch::kFloat).log_softmax(-1);
    apply_logits_processors(scores, running, generated, options);
    // Beam sample warps the processed scores before the beam scores are added
    // (temperature scales this step's log-probabilities only).
    if (options.do_sample) apply_sampling_warpers(scores, options, /*min_tokens_to_keep=*/2);
    scores = scores + torch::tensor(beam_scores, torch::kFloat).to(scores.device()).unsqueeze(1);
    auto [top_scores, top_index] = options.do_sample
                                       ? sample_candidates(scores, active, inputs, beams, generator)
                                       : scores.view({static_cast<int64_t>(active.size()), beams * vocab})
                                             .topk(2 * beams, 1, /*largest=*/true, /*sorted=*/true);
    top_scores = top_scores.cpu().contiguous();
    top_index = top_index.cpu().contiguous();
    const float* candidate_score = top_scores.data_ptr<float>();
    const int64_t* candidate_index = top_index.data_ptr<int64_t>();
    const int64_t cur_len = static_cast<int64_t>(running.front().size()) + 1;

    std::vector<int64_t> next_active, source_rows, next_tokens;
    std::vector<float> next_scores;
    RunningIds next_running;
    for (size_t g = 0; g < active.size(); ++g) {
      HypothesisList& list = lists[active[g]];
      const float* cs = candidate_score + g * 2 * beams;
      const int64_t* ci = candidate_index + g * 2 * beams;
      std::vector<int64_t> group_sources, group_tokens;
      std::vector<float> group_scores;
      for (int64_t rank = 0; rank < 2 * beams; ++rank) {
        const int64_t token = ci[rank] % vocab;
        const int64_t row = static_cast<int64_t>(g) * beams + ci[rank] / vocab;
        if (token == options.eos_token_id) {
          if (rank >= beams) continue;
          list.add(running[row], cs[rank], cur_len - prompt_len, true);
        } else {
          group_sources.push_back(row);
          group_tokens.push_back(token);
          group_scores.push_back(cs[rank]);
          if (static_cast<int64_t>(group_sources.size()) == beams) break;
        }
      }
      if (list.is_done(cs[0], cur_len, prompt_len)) continue;
      next_active.push_back(active[g]);
      for (int64_t b = 0; b < beams; ++b) {
        source_rows.push_back(group_sources[b]);
        next_tokens.push_back(group_tokens[b]);
        next_scores.push_back(group_scores[b]);
        next_running.push_back(running[group_sources[b]]);
        next_running.back().push_back(group_tokens[b]);
      }
    }
    ++generated;
    active = std::move(next_active);
    running = std::move(next_running);
    beam_scores = std::move(next_scores);
    if (active.empty() || generated >= options.max_new_tokens) break;
    decoder.select(*start.state, long_tensor(source_rows, device));
    logits = decoder.step(*start.state, long_tensor(next_tokens, device));
  }

  // Inputs still running at the length limit: their beams become hypotheses.
  for (size_t g = 0; g < active.size(); ++g)
    for (int64_t b = 0; b < beams; ++b) {
      const int64_t row = static_cast<int64_t>(g) * beams + b;
      const int64_t length = static_cast<int64_t>(running[row].size());
      lists[active[g]].add(running[row], beam_scores[row], length - prompt_len, false);
    }

  result.hypotheses.resize(inputs);
  for (int64_t i = 0; i < inputs; ++i)
    for (FinishedHypothesis& f : lists[i].best(options.num_return_sequences)) {
      Hypothesis h;
      h.tokens.assign(f.running.begin() + prompt_len, f.running.end());
      if (f.ended_with_eos) h.tokens.push_back(options.eos_token_id);
      h.score = f.score;
      h.ended_with_eos = f.ended_with_eos;
      result.hypotheses[i].push_back(std::move(h));
    }
  return result;
}

}  // namespace capbench::search
