// Every gen.* case of blip2-t5-tiny through core/generation + the search engine
// + the t5 plugin: ids identical to transformers 4.40.2 (returned ids start with
// the decoder start token 0, finished rows padded with 0), beam scores within
// 1e-4. The soft prompt is the reference `language_projection`.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include "tests/plugins/generation_fixture.h"

using namespace capbench;
using namespace capbench::testing;

namespace {

const std::string kFolder = "blip2-t5-tiny";

// transformers' sequences_scores as the captions report them, image-major.
at::Tensor beam_scores(const GenerationOutput& output) {
  std::vector<float> scores;
  for (const auto& per_image : output.captions)
    for (const auto& c : per_image) scores.push_back(static_cast<float>(c.score));
  return torch::tensor(scores);
}

}  // namespace

TEST_CASE("every greedy and beam case of blip2-t5-tiny gives transformers' ids and scores") {
  auto decoder = make_component<TextDecoder>("t5", kFolder);
  const Checkpoint refs = references(kFolder);
  const at::Tensor soft = refs.view("language_projection");
  const nlohmann::json cases = references_json(kFolder)["generate_cases"];
  int checked = 0;
  for (const auto& [name, info] : cases.items()) {
    CAPTURE(name);
    const std::string key = "gen." + name;
    // Every T5 case passes input_ids (notes "generate": Blip2 cannot run T5 without them).
    REQUIRE(info.value("prompt", false));
    const at::Tensor ids = refs.view(key + ".input_ids");
    const GenerationOptions options = options_from_hf_kwargs(info["kwargs"], /*decoder_only=*/false, ids.size(1));
    const GenerationOutput output = generate(*decoder, soft, ids, refs.view(key + ".attention_mask"), options);
    const at::Tensor got = as_sequences(output.captions, decoder->spec().pad_token_id);
    const at::Tensor expected = refs.view(key + ".sequences");
    CAPTURE(got);
    CAPTURE(expected);
    CHECK(got.equal(expected));
    if (refs.contains(key + ".sequences_scores"))
      CHECK(max_abs_diff(beam_scores(output), refs.view(key + ".sequences_scores")) < 1e-4);
    ++checked;
  }
  CHECK(checked == 11);
}

TEST_CASE("generate_extra.json: every blip2-t5-tiny case, each image alone, gives transformers' ids") {
  auto decoder = make_component<TextDecoder>("t5", kFolder);
  CHECK(check_generate_extra(*decoder, kFolder) == 8);
}

TEST_CASE("t5 generation through the text prompt: an empty prompt is tokenizer('') = [</s>]") {
  auto decoder = make_component<TextDecoder>("t5", kFolder);
  auto tokenizer = load_tokenizer(fixture(kFolder));
  const Checkpoint refs = references(kFolder);
  const nlohmann::json info = references_json(kFolder)["generate_cases"]["greedy_emptyprompt"];
  const GenerationOptions options = options_from_hf_kwargs(info["kwargs"], /*decoder_only=*/false, 1);
  const GenerationOutput output = generate_text(*decoder, *tokenizer, refs.view("language_projection"), options);
  CHECK(as_sequences(output.captions, 0).equal(refs.view("gen.greedy_emptyprompt.sequences")));
}
