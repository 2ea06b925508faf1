// The token ids (and attention masks) the model fixtures were computed from:
// BLIP-2 OPT prompts (left padding), BLIP-2 Flan-T5 prompts (right padding) and
// the MiniLM sentences (truncated to max_seq_length 256). This binary also
// loads libtorch, which proves the SentencePiece library stays apart from it.
#include <doctest/doctest.h>

#include <ATen/ATen.h>

#include "core/token_batch.h"
#include "core/tokenizer.h"
#include "tests/core/tokenizers/tokenizer_test_support.h"

using capbench::encode_batch;
using capbench::load_tokenizer;
using capbench::test::fixtures;

namespace {

std::vector<int64_t> flat(const at::Tensor& t) {
  auto c = t.contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

void check_batch(const capbench::TokenBatch& batch, const capbench::test::Int64Tensor& ids,
                 const capbench::test::Int64Tensor& mask) {
  CHECK(batch.ids.sizes().vec() == ids.shape);
  CHECK(flat(batch.ids) == ids.values);
  CHECK(flat(batch.mask) == mask.values);
}

}  // namespace

TEST_CASE("BLIP-2 OPT fixture: prompt ids, left padded") {
  const auto folder = fixtures() / "blip2-opt-tiny";
  const auto prompts = capbench::read_json_file(folder / "references.json")["prompts"].get<std::vector<std::string>>();
  const auto tensors = capbench::test::read_int64_tensors(folder / "references.safetensors");
  auto tokenizer = load_tokenizer(folder);
  CHECK(tokenizer->padding_side() == "left");
  // Which prompts each case used: the notes say "same prompt", "different prompts", or the short one.
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"fwd_prompt", {prompts[0], prompts[0]}},
      {"fwd_prompt_leftpad", {prompts[0], prompts[1]}},
      {"gen.greedy_prompt", {prompts[0], prompts[0]}},
      {"gen.greedy_prompt_leftpad", {prompts[0], prompts[1]}},
      {"gen.greedy_default_length_prompt", {prompts[1], prompts[1]}},
      {"gen.beam3_prompt", {prompts[0], prompts[0]}},
      {"gen.beam4_early_stopping_leftpad", {prompts[0], prompts[1]}},
      {"gen.beam5_lp0.6_prompt", {prompts[0], prompts[0]}},
      {"gen.beam3_norepeat2_reppen1.5_prompt", {prompts[0], prompts[0]}},
      {"gen.sample_topk_topp_seed0", {prompts[0], prompts[0]}},
  };
  for (const auto& [name, texts] : cases) {
    INFO(name);
    check_batch(encode_batch(*tokenizer, texts), tensors.at(name + ".input_ids"), tensors.at(name + ".attention_mask"));
  }
}

TEST_CASE("BLIP-2 OPT fixture: generated ids decode (ids beyond the small vocabulary give nothing)") {
  auto tokenizer = load_tokenizer(fixtures() / "blip2-opt-tiny");
  CHECK(tokenizer->decode({2, 28593, 28593, 1, 1}, true) == "");
  CHECK(tokenizer->decode({2, 68, 281, 75, 82, 627, 277}, true) == "a photo of");
  CHECK(tokenizer->decode({2, 68, 281, 75, 82, 627, 277}, false) == "</s>a photo of");
}

TEST_CASE("BLIP-2 Flan-T5 fixture: prompt ids, right padded, empty prompt") {
  const auto folder = fixtures() / "blip2-t5-tiny";
  const auto prompts = capbench::read_json_file(folder / "references.json")["prompts"].get<std::vector<std::string>>();
  const auto tensors = capbench::test::read_int64_tensors(folder / "references.safetensors");
  auto tokenizer = load_tokenizer(folder);
  CHECK(tokenizer->padding_side() == "right");
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"fwd_prompt", {prompts[0], prompts[0]}},
      {"fwd_prompt_rightpad", {prompts[0], prompts[1]}},
      {"gen.greedy_prompt", {prompts[0], prompts[0]}},
      {"gen.greedy_emptyprompt", {"", ""}},
      {"gen.greedy_prompt_rightpad", {prompts[0], prompts[1]}},
      {"gen.greedy_default_length", {prompts[0], prompts[0]}},
      {"gen.greedy_reppen_norepeat", {"", ""}},
      {"gen.beam3_prompt", {prompts[0], prompts[0]}},
      {"gen.beam3_emptyprompt", {"", ""}},
      {"gen.beam4_early_stopping_prompt", {prompts[0], prompts[0]}},
      {"gen.beam5_lp0.6_prompt", {prompts[0], prompts[0]}},
      {"gen.beam5_lp2_nrs2_rightpad", {prompts[0], prompts[1]}},
      {"gen.beam3_norepeat2_reppen1.5_prompt", {prompts[0], prompts[0]}},
  };
  for (const auto& [name, texts] : cases) {
    INFO(name);
    check_batch(encode_batch(*tokenizer, texts), tensors.at(name + ".input_ids"), tensors.at(name + ".attention_mask"));
  }
  // Generated ids reach 32127; the sentencepiece vocabulary ends far below.
  CHECK(tokenizer->decode({0, 31790, 23958, 1}, true) == "");
}

TEST_CASE("MiniLM fixture: sentence ids truncated to max_seq_length, padded right") {
  const auto folder = fixtures() / "minilm-tiny";
  const auto references = capbench::read_json_file(folder / "references.json");
  const auto sentences = references["sentences"].get<std::vector<std::string>>();
  const int64_t max_length = references["max_seq_length"].get<int64_t>();
  const auto tensors = capbench::test::read_int64_tensors(folder / "references.safetensors");
  auto tokenizer = load_tokenizer(folder);
  auto batch = encode_batch(*tokenizer, sentences, true, max_length);
  const auto& ids = tensors.at("input_ids");
  // The reference pads to max_length; the batch pads to its longest row, which is max_length here.
  CHECK(batch.ids.size(1) == max_length);
  check_batch(batch, ids, tensors.at("attention_mask"));
}
