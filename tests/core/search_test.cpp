// The search engine against a tiny fake TextDecoder (a bigram table: the next
// logits depend on the last token only), so every expected value below follows
// from the table by hand.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "core/search.h"
#include "core/search/logits_processors.h"

using namespace capbench;

namespace {

struct BigramState : DecoderState {
  std::vector<int64_t> last;
};

class BigramDecoder : public TextDecoder {
 public:
  explicit BigramDecoder(at::Tensor table, int64_t eos) : table_(std::move(table)) {
    spec_.vocab_size = table_.size(1);
    spec_.eos_token_id = eos;
    spec_.pad_token_id = 0;
  }
  const DecoderSpec& spec() const override { return spec_; }
  Start start(const at::Tensor&, const at::Tensor& prompt_ids, const at::Tensor&) override {
    ++starts;
    auto state = std::make_unique<BigramState>();
    for (int64_t r = 0; r < prompt_ids.size(0); ++r) state->last.push_back(prompt_ids[r][-1].item<int64_t>());
    Start out;
    out.logits = rows_of(state->last);
    out.state = std::move(state);
    return out;
  }
  at::Tensor step(DecoderState& state, const at::Tensor& tokens) override {
    auto& s = dynamic_cast<BigramState&>(state);
    REQUIRE(tokens.size(0) == static_cast<int64_t>(s.last.size()));
    s.last.assign(tokens.data_ptr<int64_t>(), tokens.data_ptr<int64_t>() + tokens.size(0));
    step_rows.push_back(tokens.size(0));
    return rows_of(s.last);
  }
  void select(DecoderState& state, const at::Tensor& rows) override {
    auto& s = dynamic_cast<BigramState&>(state);
    std::vector<int64_t> kept;
    for (int64_t i = 0; i < rows.size(0); ++i) kept.push_back(s.last.at(rows[i].item<int64_t>()));
    s.last = kept;
    selects.push_back(std::vector<int64_t>(rows.data_ptr<int64_t>(), rows.data_ptr<int64_t>() + rows.size(0)));
  }
  Forward forward(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&) override { return {}; }

  int starts = 0;
  std::vector<int64_t> step_rows;                // rows fed to each step()
  std::vector<std::vector<int64_t>> selects;     // rows of each select()

 private:
  at::Tensor rows_of(const std::vector<int64_t>& last) const {
    return table_.index_select(0, torch::tensor(last, torch::kLong));
  }
  at::Tensor table_;
  DecoderSpec spec_;
};

TextDecoder::Start start_from(BigramDecoder& decoder, std::vector<int64_t> first_tokens) {
  at::Tensor ids = torch::tensor(first_tokens, torch::kLong).unsqueeze(1);
  return decoder.start({}, ids, torch::ones_like(ids));
}

double log_prob(const at::Tensor& table, int64_t from, int64_t to) {
  return table[from].log_softmax(-1)[to].item<double>();
}

// Tokens 0..5, EOS = 5. 0 -> 1 -> 2 -> EOS; 3 -> 4 -> 4 -> ... never ends.
at::Tensor chain_table() {
  at::Tensor t = torch::zeros({6, 6});
  t[0][1] = 3;
  t[1][2] = 3;
  t[2][5] = 3;
  t[3][4] = 3;
  t[4][4] = 3;
  t[5][5] = 3;
  return t;
}

// Tokens 0..3, EOS = 3. From 0: token 1 > token 2 > EOS; after 1 or 2 EOS is
// nearly certain.
at::Tensor fork_table() {
  at::Tensor t = torch::full({4, 4}, -10.0);
  t[0] = torch::tensor({-10.0, 1.0, 0.5, 0.0});
  t[1][3] = 10;
  t[2][3] = 10;
  t[3][3] = 10;
  return t;
}

}  // namespace

TEST_CASE("greedy: rows finish independently and leave the decoder state") {
  BigramDecoder decoder(chain_table(), 5);
  SearchOptions o;
  o.max_new_tokens = 5;
  o.eos_token_id = 5;
  SearchResult r = run_search(decoder, start_from(decoder, {0, 3}), o);
  REQUIRE(r.hypotheses.size() == 2);
  CHECK(r.hypotheses[0][0].tokens == std::vector<int64_t>{1, 2, 5});
  CHECK(r.hypotheses[0][0].ended_with_eos);
  CHECK(r.hypotheses[1][0].tokens == std::vector<int64_t>{4, 4, 4, 4, 4});
  CHECK_FALSE(r.hypotheses[1][0].ended_with_eos);
  CHECK(decoder.step_rows == std::vector<int64_t>{2, 2, 1, 1});  // row 0 dropped after its EOS, no step after the last token
  const at::Tensor t = chain_table();
  CHECK(r.hypotheses[0][0].score == doctest::Approx(log_prob(t, 0, 1) + log_prob(t, 1, 2) + log_prob(t, 2, 5)));
  CHECK(r.first_logits.sizes().equals({2, 6}));
}

TEST_CASE("min_new_tokens forbids EOS before that many tokens") {
  BigramDecoder decoder(chain_table(), 5);
  SearchOptions o;
  o.max_new_tokens = 4;
  o.min_new_tokens = 2;
  o.eos_token_id = 5;
  SearchResult r = run_search(decoder, start_from(decoder, {2}), o);  // EOS would come first
  const auto& tokens = r.hypotheses[0][0].tokens;
  REQUIRE(tokens.size() >= 3);
  CHECK(tokens[0] != 5);
  CHECK(tokens[1] != 5);
}

TEST_CASE("beam search: prefill once, expand, and score finished hypotheses with the length penalty") {
  const at::Tensor t = fork_table();
  for (double penalty : {1.0, 2.0, 0.5, -1.0}) {
    CAPTURE(penalty);
    BigramDecoder decoder(t, 3);
    SearchOptions o;
    o.num_beams = 2;
    o.num_return_sequences = 2;
    o.max_new_tokens = 2;
    o.length_penalty = penalty;
    o.eos_token_id = 3;
    SearchResult r = run_search(decoder, start_from(decoder, {0}), o);
    CHECK(decoder.starts == 1);
    REQUIRE_FALSE(decoder.selects.empty());
    CHECK(decoder.selects.front() == std::vector<int64_t>{0, 0});
    REQUIRE(r.hypotheses[0].size() == 2);
    // [1, EOS] and [2, EOS]: two generated tokens, EOS included in the length.
    const double eos = log_prob(t, 1, 3);
    CHECK(r.hypotheses[0][0].tokens == std::vector<int64_t>{1, 3});
    CHECK(r.hypotheses[0][0].score == doctest::Approx((log_prob(t, 0, 1) + eos) / std::pow(2.0, penalty)).epsilon(1e-6));
    CHECK(r.hypotheses[0][1].tokens == std::vector<int64_t>{2, 3});
    CHECK(r.hypotheses[0][1].score == doctest::Approx((log_prob(t, 0, 2) + eos) / std::pow(2.0, penalty)).epsilon(1e-6));
  }
}

TEST_CASE("beam search counts only generated tokens whatever the decoder's initial ids") {
  const at::Tensor t = fork_table();
  BigramDecoder a(t, 3), b(t, 3);
  SearchOptions o;
  o.num_beams = 2;
  o.max_new_tokens = 4;
  o.length_penalty = 2.0;
  o.eos_token_id = 3;
  SearchResult without = run_search(a, start_from(a, {0}), o);
  o.initial_ids = {0};  // an encoder-decoder's decoder start token
  SearchResult with = run_search(b, start_from(b, {0}), o);
  CHECK(without.hypotheses[0][0].tokens == with.hypotheses[0][0].tokens);
  CHECK(without.hypotheses[0][0].score == doctest::Approx(with.hypotheses[0][0].score));
}

TEST_CASE("early_stopping true stops once num_beams hypotheses are finished") {
  const at::Tensor t = fork_table();
  BigramDecoder eager(t, 3), patient(t, 3);
  SearchOptions o;
  o.num_beams = 2;
  o.max_new_tokens = 6;
  o.eos_token_id = 3;
  o.early_stopping = EarlyStopping::immediate;
  run_search(eager, start_from(eager, {0}), o);
  CHECK(eager.step_rows.size() == 1);  // two EOS hypotheses after the second token
  o.early_stopping = EarlyStopping::never;
  run_search(patient, start_from(patient, {0}), o);
  CHECK(patient.step_rows.size() > eager.step_rows.size());
}

TEST_CASE("no_repeat_ngram_size bans the token that would repeat an n-gram") {
  using capbench::search::banned_ngram_tokens;
  CHECK(banned_ngram_tokens({1, 2, 3, 1, 2}, 3) == std::vector<int64_t>{3});
  CHECK(banned_ngram_tokens({1, 2, 1}, 2) == std::vector<int64_t>{2});
  CHECK(banned_ngram_tokens({4, 4}, 2) == std::vector<int64_t>{4});
  CHECK(banned_ngram_tokens({1, 2}, 3).empty());
  CHECK(banned_ngram_tokens({}, 1).empty());

  BigramDecoder decoder(chain_table(), 5);  // 3 -> 4 -> 4 -> 4 ...
  SearchOptions o;
  o.max_new_tokens = 3;
  o.no_repeat_ngram_size = 2;
  o.eos_token_id = 5;
  SearchResult r = run_search(decoder, start_from(decoder, {3}), o);
  const auto& tokens = r.hypotheses[0][0].tokens;
  CHECK(tokens[0] == 4);
  CHECK(tokens[1] == 4);  // "4 4" is new
  CHECK(tokens[2] != 4);  // "4 4" again is banned
}

TEST_CASE("repetition penalty divides positive and multiplies negative scores of used tokens") {
  at::Tensor scores = torch::tensor({{2.0f, -2.0f, 1.0f}});
  SearchOptions o;
  o.repetition_penalty = 2.0;
  capbench::search::apply_logits_processors(scores, {{0, 1, 1}}, 3, o);
  CHECK(scores.equal(torch::tensor({{1.0f, -4.0f, 1.0f}})));
}

TEST_CASE("sampling warpers: temperature, then top-k, then top-p") {
  SearchOptions o;
  o.temperature = 2.0;
  o.top_k = 2;
  o.top_p = 1.0;
  at::Tensor scores = torch::tensor({{4.0f, 2.0f, 0.0f, -2.0f}});
  capbench::search::apply_sampling_warpers(scores, o, 1);
  CHECK(scores[0][0].item<float>() == 2.0f);
  CHECK(scores[0][1].item<float>() == 1.0f);
  CHECK(std::isinf(scores[0][2].item<float>()));
  // top_p keeps the smallest set whose mass reaches p: here the best token alone.
  o = {};
  o.top_k = 0;
  o.top_p = 0.5;
  scores = torch::tensor({{4.0f, 2.0f, 0.0f}});
  capbench::search::apply_sampling_warpers(scores, o, 1);
  CHECK(std::isfinite(scores[0][0].item<float>()));
  CHECK(std::isinf(scores[0][1].item<float>()));
}

TEST_CASE("sampling is reproducible per seed and top_k = 1 is greedy") {
  torch::manual_seed(7);
  at::Tensor table = torch::randn({8, 8});
  SearchOptions o;
  o.max_new_tokens = 6;
  o.do_sample = true;
  o.num_return_sequences = 4;
  o.seed = 11;
  BigramDecoder a(table, -1), b(table, -1), c(table, -1);
  SearchResult first = run_search(a, start_from(a, {0, 1}), o);
  SearchResult again = run_search(b, start_from(b, {0, 1}), o);
  for (size_t i = 0; i < 2; ++i)
    for (size_t j = 0; j < 4; ++j) CHECK(first.hypotheses[i][j].tokens == again.hypotheses[i][j].tokens);
  o.top_k = 1;
  o.num_return_sequences = 1;
  SearchResult sampled = run_search(c, start_from(c, {0, 1}), o);
  BigramDecoder d(table, -1);
  SearchOptions greedy;
  greedy.max_new_tokens = 6;
  SearchResult argmax = run_search(d, start_from(d, {0, 1}), greedy);
  CHECK(sampled.hypotheses[0][0].tokens == argmax.hypotheses[0][0].tokens);
  CHECK(sampled.hypotheses[1][0].tokens == argmax.hypotheses[1][0].tokens);
}

TEST_CASE("beam sample is reproducible per seed, draws its candidates, and keeps beam search's bookkeeping") {
  torch::manual_seed(3);
  at::Tensor table = torch::randn({8, 8}) * 0.5;
  SearchOptions o;
  o.max_new_tokens = 5;
  o.num_beams = 3;
  o.num_return_sequences = 2;
  o.do_sample = true;
  o.temperature = 2.0;
  auto run = [&](uint64_t seed) {
    o.seed = seed;
    BigramDecoder decoder(table, 7);
    SearchResult r = run_search(decoder, start_from(decoder, {0, 1, 2}), o);
    CHECK(decoder.starts == 1);  // prefilled once, then expanded to the beams
    std::vector<std::vector<int64_t>> ids;
    for (const auto& input : r.hypotheses) {
      REQUIRE(input.size() == 2);
      CHECK(input[0].score >= input[1].score);
      for (const auto& h : input) ids.push_back(h.tokens);
    }
    return ids;
  };
  const auto first = run(5);
  CHECK(first == run(5));
  bool some_seed_differs = false;
  for (uint64_t seed = 6; seed < 16 && !some_seed_differs; ++seed) some_seed_differs = run(seed) != first;
  CHECK(some_seed_differs);
}

TEST_CASE("invalid search options are refused with a message") {
  BigramDecoder decoder(chain_table(), 5);
  SearchOptions o;
  o.num_beams = 2;
  o.num_return_sequences = 3;
  CHECK_THROWS_AS(run_search(decoder, start_from(decoder, {0}), o), Error);
  CHECK_THROWS_WITH_AS(parse_early_stopping("maybe"), doctest::Contains("never"), Error);
  CHECK(parse_early_stopping("never") == EarlyStopping::never);
  CHECK(early_stopping_name(EarlyStopping::immediate) == "true");
}
