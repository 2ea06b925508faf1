// The opt decoder plugin against transformers 4.40.2's references: full-forward
// logits and hidden states (fp32 within 1e-4), incl. left padding; start/step/
// select against the full forward; the fp16 / bf16 checkpoints upcast to fp32.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <fstream>

#include "core/error.h"
#include "core/safetensors.h"
#include "tests/plugins/generation_fixture.h"

using namespace capbench;
using namespace capbench::testing;

namespace {

constexpr double kTolerance = 1e-4;

// Compares the logits of `case_name` the way the fixture stores them.
void check_forward_case(const std::string& folder, const std::string& case_name, TextDecoder& decoder) {
  CAPTURE(folder);
  CAPTURE(case_name);
  const Checkpoint refs = references(folder);
  const at::Tensor soft = refs.view("language_projection");
  const at::Tensor ids = refs.view(case_name + ".input_ids");
  const at::Tensor mask = refs.view(case_name + ".attention_mask");
  TextDecoder::Forward out = decoder.forward(soft, ids, mask, {});
  REQUIRE(out.logits.dim() == 3);
  CHECK(out.logits.size(1) == soft.size(1) + ids.size(1));
  CHECK(max_abs_diff(out.logits.narrow(2, 0, 1024), refs.view(case_name + ".logits_head1024")) < kTolerance);
  CHECK(max_abs_diff(out.logits.logsumexp(-1), refs.view(case_name + ".logsumexp")) < kTolerance);
  CHECK(out.logits.argmax(-1).equal(refs.view(case_name + ".argmax")));
  if (refs.contains(case_name + ".logits_last"))
    CHECK(max_abs_diff(out.logits.select(1, out.logits.size(1) - 1), refs.view(case_name + ".logits_last")) < kTolerance);
  int checked = 0;
  for (size_t i = 0; i < out.hidden_states.size(); ++i) {
    const std::string name = case_name + ".lm_hidden_states." + std::to_string(i);
    if (!refs.contains(name)) continue;
    CAPTURE(name);
    CHECK(max_abs_diff(out.hidden_states[i], refs.view(name)) < kTolerance);
    ++checked;
  }
  CHECK(checked > 0);
}

bool is_layer_norm(const std::string& name) {
  return name.find("layer_norm.") != std::string::npos;
}

// A copy of blip2-opt-tiny in `folder` whose layer norms are the identity
// affine map: weights 1 and biases 0, or, with `elementwise_affine` false, no
// tensors at all and layer_norm_elementwise_affine = false in the config.
void write_identity_norm_copy(const std::filesystem::path& folder, bool elementwise_affine) {
  std::filesystem::create_directories(folder);
  const Checkpoint source = Checkpoint::open(fixture("blip2-opt-tiny"));
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const std::string& name : source.names("language_model.")) {
    const at::Tensor t = source.view(name);
    if (!is_layer_norm(name)) tensors.emplace_back(name, t);
    else if (elementwise_affine) tensors.emplace_back(name, name.find(".bias") != std::string::npos ? at::zeros_like(t) : at::ones_like(t));
  }
  write_safetensors(folder / "model.safetensors", tensors);
  nlohmann::json config = read_json_file(fixture("blip2-opt-tiny") / "config.json");
  config["text_config"]["layer_norm_elementwise_affine"] = elementwise_affine;
  std::ofstream(folder / "config.json") << config.dump();
}

}  // namespace

TEST_CASE("opt layer norms without weights (layer_norm_elementwise_affine = false) are the identity affine map") {
  const TempDir scratch;
  const auto dir = scratch.path();
  write_identity_norm_copy(dir / "affine", true);
  write_identity_norm_copy(dir / "plain", false);
  const Checkpoint plain = Checkpoint::open(dir / "plain");
  CHECK(plain.names("language_model.model.decoder.final_layer_norm").empty());
  const Checkpoint refs = references("blip2-opt-tiny");
  at::Tensor logits[2];
  int i = 0;
  for (const std::string variant : {"affine", "plain"}) {
    ComponentContext ctx;
    ctx.checkpoint = dir / variant;
    ctx.device = "cpu";
    ctx.dtype = "fp32";
    auto decoder = plugin_registry().create<TextDecoder>("opt", ctx);
    logits[i++] = decoder->forward(refs.view("language_projection"), refs.view("fwd_prompt.input_ids"),
                                   refs.view("fwd_prompt.attention_mask"), {}).logits;
  }
  CHECK(max_abs_diff(logits[0], logits[1]) < 1e-6);
}

TEST_CASE("opt forward matches transformers (fp32, incl. left padding)") {
  auto decoder = make_component<TextDecoder>("opt", "blip2-opt-tiny");
  CHECK(decoder->spec().vocab_size == 50272);
  CHECK(decoder->spec().bos_token_id == 2);
  CHECK(decoder->spec().eos_token_id == 2);
  CHECK(decoder->spec().pad_token_id == 1);
  CHECK_FALSE(decoder->spec().encoder_decoder);
  TextDecoder::Forward out = decoder->forward(references("blip2-opt-tiny").view("language_projection"),
                                              references("blip2-opt-tiny").view("fwd_prompt.input_ids"),
                                              references("blip2-opt-tiny").view("fwd_prompt.attention_mask"), {});
  CHECK(out.hidden_states.size() == 3);  // embeddings, layer 0, final normed state
  check_forward_case("blip2-opt-tiny", "fwd_prompt", *decoder);
  check_forward_case("blip2-opt-tiny", "fwd_prompt_leftpad", *decoder);
}

TEST_CASE("opt forward of the fp16 and sharded bf16 checkpoints, upcast to fp32") {
  for (const std::string folder : {"blip2-opt-tiny-fp16", "blip2-opt-tiny-sharded"}) {
    auto decoder = make_component<TextDecoder>("opt", folder, "fp32");
    check_forward_case(folder, "fwd_prompt", *decoder);
  }
}

TEST_CASE("opt start/step with the KV cache equal the full forward, padded or not") {
  auto decoder = make_component<TextDecoder>("opt", "blip2-opt-tiny");
  const Checkpoint refs = references("blip2-opt-tiny");
  const at::Tensor soft = refs.view("language_projection");
  for (const std::string case_name : {"fwd_prompt", "fwd_prompt_leftpad"}) {
    CAPTURE(case_name);
    const at::Tensor ids = refs.view(case_name + ".input_ids");
    const at::Tensor mask = refs.view(case_name + ".attention_mask");
    const int64_t prefix = ids.size(1) - 3;
    TextDecoder::Start start = decoder->start(soft, ids.narrow(1, 0, prefix), mask.narrow(1, 0, prefix));
    const at::Tensor full = decoder->forward(soft, ids, mask, {}).logits;
    const int64_t q = soft.size(1);
    CHECK(max_abs_diff(start.logits, full.select(1, q + prefix - 1)) < kTolerance);
    for (int64_t t = prefix; t < ids.size(1); ++t) {
      at::Tensor logits = decoder->step(*start.state, ids.select(1, t).contiguous());
      CHECK(max_abs_diff(logits, full.select(1, q + t)) < kTolerance);
    }
  }
}

TEST_CASE("opt select expands, reorders and drops rows of the cache") {
  auto decoder = make_component<TextDecoder>("opt", "blip2-opt-tiny");
  const Checkpoint refs = references("blip2-opt-tiny");
  const at::Tensor soft = refs.view("language_projection");
  const at::Tensor ids = refs.view("fwd_prompt_leftpad.input_ids");
  const at::Tensor mask = refs.view("fwd_prompt_leftpad.attention_mask");
  TextDecoder::Start start = decoder->start(soft, ids, mask);
  const at::Tensor tokens = torch::tensor({5, 7}, torch::kLong);
  TextDecoder::Start again = decoder->start(soft, ids, mask);
  const at::Tensor reference = decoder->step(*again.state, tokens);  // rows 0, 1

  decoder->select(*start.state, torch::tensor({1, 0, 0, 1, 1}, torch::kLong));
  at::Tensor logits = decoder->step(*start.state, torch::tensor({7, 5, 5, 7, 7}, torch::kLong));
  CHECK(max_abs_diff(logits[0], reference[1]) < kTolerance);
  CHECK(max_abs_diff(logits[1], reference[0]) < kTolerance);
  CHECK(max_abs_diff(logits[4], reference[1]) < kTolerance);
  decoder->select(*start.state, torch::tensor({4}, torch::kLong));
  at::Tensor next = decoder->step(*start.state, torch::tensor({3}, torch::kLong));
  at::Tensor expected = decoder->step(*again.state, torch::tensor({3, 3}, torch::kLong));
  CHECK(max_abs_diff(next[0], expected[1]) < kTolerance);
}

TEST_CASE("opt cache grows past its first capacity without changing results") {
  auto decoder = make_component<TextDecoder>("opt", "blip2-opt-tiny");
  const Checkpoint refs = references("blip2-opt-tiny");
  const at::Tensor soft = refs.view("language_projection");
  const at::Tensor ids = torch::full({2, 1}, 2, torch::kLong);
  const at::Tensor mask = torch::ones({2, 1}, torch::kLong);
  // 80 steps: beyond the first capacity (prefix + 32) and the first growth.
  const at::Tensor continuation = torch::randint(3, 1000, {2, 80}, torch::kLong);
  TextDecoder::Start start = decoder->start(soft, ids, mask);
  at::Tensor logits;
  for (int64_t t = 0; t < continuation.size(1); ++t) logits = decoder->step(*start.state, continuation.select(1, t).contiguous());
  const at::Tensor all_ids = torch::cat({ids, continuation}, 1);
  const at::Tensor full = decoder->forward(soft, all_ids, torch::ones_like(all_ids), {}).logits;
  CHECK(max_abs_diff(logits, full.select(1, full.size(1) - 1)) < kTolerance);
}

TEST_CASE("opt refuses what libtorch cannot compute and names what is wrong with a folder") {
#if TORCH_VERSION_MAJOR < 2
  CHECK_THROWS_WITH_AS(make_component<TextDecoder>("opt", "blip2-opt-tiny", "fp16"),
                       doctest::Contains("use bf16 or fp32"), Error);
#endif
  CHECK_THROWS_WITH_AS(make_component<TextDecoder>("opt", "blip2-t5-tiny"), doctest::Contains("not an OPT"), Error);
}

TEST_CASE("opt computes in bf16 on the CPU close to fp32") {
  auto decoder = make_component<TextDecoder>("opt", "blip2-opt-tiny", "bf16");
  const Checkpoint refs = references("blip2-opt-tiny");
  TextDecoder::Start start = decoder->start(refs.view("language_projection"), refs.view("fwd_prompt.input_ids"),
                                            refs.view("fwd_prompt.attention_mask"));
  CHECK((start.logits.scalar_type() == torch::kFloat));
  // bf16 keeps 8 bits of mantissa: logits of magnitude ~10 are off by ~0.1.
  CHECK(max_abs_diff(start.logits, refs.view("fwd_prompt.logits_last")) < 0.5);
}
