// Every gen.* case of the OPT fixtures through core/generation + the search
// engine + the opt plugin: ids identical to transformers 4.40.2, beam scores
// within 1e-4. The soft prompt is the reference `language_projection`, so these
// tests do not depend on the image side.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "tests/plugins/generation_fixture.h"

using namespace capbench;
using namespace capbench::testing;

namespace {

struct CaseRun {
  GenerationOutput output;
  at::Tensor expected;          // transformers' sequences
  at::Tensor expected_scores;   // sequences_scores (beam search) or undefined
  GenerationOptions options;
};

CaseRun run_case(TextDecoder& decoder, const std::string& folder, const std::string& name, const nlohmann::json& info) {
  const Checkpoint refs = references(folder);
  const std::string key = "gen." + name;
  const at::Tensor soft = refs.view("language_projection");
  at::Tensor ids, mask;
  if (info.value("prompt", false)) {
    ids = refs.view(key + ".input_ids");
    mask = refs.view(key + ".attention_mask");
  } else {  // Blip2 without input_ids: [[bos]] per image
    ids = torch::full({soft.size(0), 1}, decoder.spec().bos_token_id, torch::kLong);
    mask = torch::ones_like(ids);
  }
  CaseRun run;
  run.options = options_from_hf_kwargs(info["kwargs"], /*decoder_only=*/true, ids.size(1));
  if (info.contains("torch_manual_seed_before_generate"))
    run.options.seed = info["torch_manual_seed_before_generate"].get<uint64_t>();
  run.output = generate(decoder, soft, ids, mask, run.options);
  run.expected = refs.view(key + ".sequences");
  if (refs.contains(key + ".sequences_scores")) run.expected_scores = refs.view(key + ".sequences_scores");
  return run;
}

void check_cases(const std::string& folder, const std::string& dtype, int expected_cases) {
  auto decoder = make_component<TextDecoder>("opt", folder, dtype);
  const nlohmann::json cases = references_json(folder)["generate_cases"];
  int checked = 0;
  for (const auto& [name, info] : cases.items()) {
    if (info["kwargs"].value("do_sample", false)) continue;  // see the sampling test case
    CAPTURE(folder);
    CAPTURE(name);
    CaseRun run = run_case(*decoder, folder, name, info);
    const at::Tensor got = as_sequences(run.output.captions, decoder->spec().pad_token_id);
    CAPTURE(got);
    CAPTURE(run.expected);
    CHECK(got.equal(run.expected));
    if (run.expected_scores.defined()) {
      std::vector<float> scores;
      for (const auto& per_image : run.output.captions)
        for (const auto& c : per_image) scores.push_back(static_cast<float>(c.score));
      CHECK(max_abs_diff(torch::tensor(scores), run.expected_scores) < 1e-4);
    }
    ++checked;
  }
  CHECK(checked == expected_cases);
}

}  // namespace

// 14 cases, of which one samples (the test case after these).
TEST_CASE("every greedy and beam case of blip2-opt-tiny gives transformers' ids") {
  check_cases("blip2-opt-tiny", "fp32", 13);
}

TEST_CASE("generate cases of the fp16 checkpoint, upcast to fp32") { check_cases("blip2-opt-tiny-fp16", "fp32", 5); }

TEST_CASE("generate cases of the sharded bf16 checkpoint, upcast to fp32") {
  check_cases("blip2-opt-tiny-sharded", "fp32", 5);
}

TEST_CASE("generate_extra.json: every blip2-opt-tiny case, each image alone, gives transformers' ids") {
  // min_new_tokens, early_stopping never / false, a long repetition-penalised caption, n-gram bans with
  // several captions, and seeded top-k, top-p + temperature, three samples and beam sample.
  auto decoder = make_component<TextDecoder>("opt", "blip2-opt-tiny");
  CHECK(check_generate_extra(*decoder, "blip2-opt-tiny") == 10);
}

TEST_CASE("seeded sampling replays torch's CPU random stream") {
  auto decoder = make_component<TextDecoder>("opt", "blip2-opt-tiny");
  const std::string name = "sample_topk_topp_seed0";
  const nlohmann::json info = references_json("blip2-opt-tiny")["generate_cases"][name];
  CaseRun first = run_case(*decoder, "blip2-opt-tiny", name, info);
  CaseRun second = run_case(*decoder, "blip2-opt-tiny", name, info);
  const at::Tensor got = as_sequences(first.output.captions, decoder->spec().pad_token_id);
  CAPTURE(got);
  CAPTURE(first.expected);
  CHECK(got.equal(as_sequences(second.output.captions, decoder->spec().pad_token_id)));
  CHECK(got.equal(first.expected));
}

TEST_CASE("sampling: other seeds give other captions, top_k = 1 is greedy") {
  auto decoder = make_component<TextDecoder>("opt", "blip2-opt-tiny");
  const Checkpoint refs = references("blip2-opt-tiny");
  const at::Tensor soft = refs.view("language_projection");
  const at::Tensor ids = refs.view("gen.greedy_prompt.input_ids");
  const at::Tensor mask = refs.view("gen.greedy_prompt.attention_mask");
  GenerationOptions o;
  o.max_new_tokens = 12;
  o.do_sample = true;
  o.num_captions = 3;
  std::set<std::vector<int64_t>> distinct;
  for (uint64_t seed : {1u, 2u, 3u}) {
    o.seed = seed;
    GenerationOutput out = generate(*decoder, soft, ids, mask, o);
    REQUIRE(out.captions.size() == 2);
    CHECK(out.captions[0].size() == 3);
    for (const auto& c : out.captions[0]) distinct.insert(c.ids);
  }
  CHECK(distinct.size() > 1);

  o.num_captions = 1;
  o.top_k = 1;
  GenerationOutput sampled = generate(*decoder, soft, ids, mask, o);
  CHECK(as_sequences(sampled.captions, 1).equal(refs.view("gen.greedy_prompt.sequences")));
}

TEST_CASE("generation options are checked") {
  auto decoder = make_component<TextDecoder>("opt", "blip2-opt-tiny");
  const at::Tensor soft = references("blip2-opt-tiny").view("language_projection");
  const at::Tensor ids = torch::full({2, 1}, 2, torch::kLong);
  GenerationOptions o;
  o.num_beams = 2;
  o.num_captions = 3;
  CHECK_THROWS_WITH_AS(generate(*decoder, soft, ids, torch::ones_like(ids), o), doctest::Contains("num_beams"), Error);
  o = {};
  o.early_stopping = "sometimes";
  CHECK_THROWS_WITH_AS(generate(*decoder, soft, ids, torch::ones_like(ids), o), doctest::Contains("never"), Error);
}
