// The qformer plugin against transformers' Blip2QFormerModel + language_projection.
#include <torch/cuda.h>

#include <fstream>

#include "core/error.h"
#include "core/safetensors.h"
#include "tests/plugins/blip2_test_support.h"

using blip2_test::bf16_relative_bound;
using blip2_test::make;
using blip2_test::reference;
using blip2_test::relative_error;
using capbench::Bridge;
namespace fs = std::filesystem;

namespace {

void check_against_references(const std::string& folder, const std::string& dtype, bool with_hidden_states) {
  CAPTURE(folder);
  auto bridge = make<Bridge>("qformer", folder, dtype);
  // The reference image features isolate the bridge from the encoder.
  const Bridge::Output out = bridge->bridge(reference(folder, "vision.last_hidden_state"), with_hidden_states);
  CHECK_CLOSE(out.last_hidden_state, reference(folder, "qformer.last_hidden_state"), 1e-4);
  CHECK_CLOSE(out.soft_prompt, reference(folder, "language_projection"), 1e-4);
  if (!with_hidden_states) return;
  REQUIRE(out.hidden_states.size() == 3);  // embedding LayerNorm + 2 layers
  for (size_t i = 0; i < out.hidden_states.size(); ++i) {
    CAPTURE(i);
    CHECK_CLOSE(out.hidden_states[i], reference(folder, "qformer.hidden_states." + std::to_string(i)), 1e-4);
  }
}

// A copy of blip2-opt-tiny whose model.safetensors has extra tensors.
struct CheckpointWithExtras {
  capbench::testing::TempDir temp;
  fs::path dir = temp.path();
  explicit CheckpointWithExtras(const std::vector<std::string>& extra_names) {
    fs::copy_file(blip2_test::fixture("blip2-opt-tiny") / "config.json", dir / "config.json",
                  fs::copy_options::overwrite_existing);
    const capbench::Checkpoint source = capbench::Checkpoint::open(blip2_test::fixture("blip2-opt-tiny"));
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (const auto& name : source.names()) tensors.emplace_back(name, source.view(name));
    for (const auto& name : extra_names) tensors.emplace_back(name, torch::zeros({4}));
    capbench::write_safetensors(dir / "model.safetensors", tensors);
  }
};

}  // namespace

TEST_CASE("fp32 outputs match the Q-Former and projection within 1e-4 (OPT and T5 fixtures)") {
  check_against_references("blip2-opt-tiny", "fp32", true);
  check_against_references("blip2-t5-tiny", "fp32", true);
}

TEST_CASE("F16 and sharded BF16 checkpoints loaded into fp32 match their references within 1e-4") {
  check_against_references("blip2-opt-tiny-fp16", "fp32", false);
  check_against_references("blip2-opt-tiny-sharded", "fp32", false);
}

TEST_CASE("a batch gives each image the outputs it gets alone") {
  auto bridge = make<Bridge>("qformer", "blip2-opt-tiny");
  const torch::Tensor features = reference("blip2-opt-tiny", "vision.last_hidden_state");
  const Bridge::Output both = bridge->bridge(torch::cat({features, features.flip(0)}), false);
  for (int64_t i = 0; i < 2; ++i) {
    const Bridge::Output one = bridge->bridge(features.narrow(0, i, 1), false);
    CHECK_CLOSE(both.soft_prompt.narrow(0, i, 1), one.soft_prompt, 1e-5);
    CHECK_CLOSE(both.soft_prompt.narrow(0, 3 - i, 1), one.soft_prompt, 1e-5);
  }
}

TEST_CASE("bf16 on the CPU stays close to the fp32 reference") {
  auto bridge = make<Bridge>("qformer", "blip2-opt-tiny", "bf16");
  const Bridge::Output out = bridge->bridge(reference("blip2-opt-tiny", "vision.last_hidden_state"), false);
  CHECK((out.soft_prompt.scalar_type() == torch::kBFloat16));
  const torch::Tensor expected = reference("blip2-opt-tiny", "language_projection");
  // Roundings on the path: the query embeddings' layer norm (1); per layer 12
  // as in a ViT layer, plus 5 for cross-attention (counted in every layer, an
  // upper bound: the fixture cross-attends in every second one); the
  // projection (1).
  const int layers = 2;  // tests/fixtures/blip2-opt-tiny/config.json, qformer_config
  const double error = relative_error(out.soft_prompt, expected);
  CHECK_MESSAGE(error <= bf16_relative_bound(1 + 17 * layers + 1), "relative error " << error);
}

TEST_CASE("CUDA: fp32 matches the reference, fp16 stays close") {
  if (!torch::cuda::is_available()) {
    MESSAGE("no CUDA device: CUDA checks not run");
    return;
  }
  const torch::Tensor features = reference("blip2-opt-tiny", "vision.last_hidden_state");
  const torch::Tensor expected = reference("blip2-opt-tiny", "language_projection");
  auto fp32 = make<Bridge>("qformer", "blip2-opt-tiny", "fp32", "cuda");
  CHECK_CLOSE(fp32->bridge(features, false).soft_prompt, expected, 1e-4);
  auto fp16 = make<Bridge>("qformer", "blip2-opt-tiny", "fp16", "cuda");
  const torch::Tensor half = fp16->bridge(features, false).soft_prompt;
  CHECK((half.scalar_type() == torch::kHalf));
  CHECK_CLOSE(half, expected, 0.01 * expected.abs().max().item<double>());
}

TEST_CASE("the Q-Former's text-side weights of real checkpoints are ignored; other strays are refused") {
  {
    CheckpointWithExtras ckpt({"qformer.embeddings.word_embeddings.weight", "qformer.embeddings.position_ids",
                               "qformer.encoder.layer.0.intermediate.dense.weight",
                               "qformer.encoder.layer.1.output.LayerNorm.bias"});
    capbench::ComponentContext ctx{ckpt.dir, "cpu", "fp32", capbench::Settings()};
    auto bridge = blip2_test::registry().create<Bridge>("qformer", ctx);
    CHECK_CLOSE(bridge->bridge(reference("blip2-opt-tiny", "vision.last_hidden_state"), false).soft_prompt,
                reference("blip2-opt-tiny", "language_projection"), 1e-4);
  }
  {
    CheckpointWithExtras ckpt({"qformer.encoder.layer.0.unknown.weight"});
    capbench::ComponentContext ctx{ckpt.dir, "cpu", "fp32", capbench::Settings()};
    CHECK_THROWS_WITH_AS(blip2_test::registry().create<Bridge>("qformer", ctx),
                         doctest::Contains("qformer.encoder.layer.0.unknown.weight"), capbench::Error);
  }
}

TEST_CASE("image features of the wrong width are refused") {
  auto bridge = make<Bridge>("qformer", "blip2-opt-tiny");
  CHECK_THROWS_WITH_AS(bridge->bridge(torch::zeros({1, 257, 48})), doctest::Contains("[B,N,32]"), capbench::Error);
}
