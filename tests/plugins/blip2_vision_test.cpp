// The blip2-vision plugin against transformers' Blip2VisionModel outputs.
#include <torch/cuda.h>

#include "core/error.h"
#include "tests/plugins/blip2_test_support.h"

using blip2_test::bf16_relative_bound;
using blip2_test::make;
using blip2_test::pixel_values;
using blip2_test::reference;
using blip2_test::relative_error;
using capbench::ImageEncoder;

namespace {

void check_against_references(const std::string& folder, const std::string& dtype, bool with_hidden_states) {
  CAPTURE(folder);
  auto encoder = make<ImageEncoder>("blip2-vision", folder, dtype);
  const ImageEncoder::Output out = encoder->encode(pixel_values(), with_hidden_states);
  CHECK((out.last_hidden_state.scalar_type() == torch::kFloat));
  CHECK_CLOSE(out.last_hidden_state, reference(folder, "vision.last_hidden_state"), 1e-4);
  CHECK_CLOSE(out.pooler_output, reference(folder, "vision.pooler_output"), 1e-4);
  if (!with_hidden_states) return;
  REQUIRE(out.hidden_states.size() == 3);  // embeddings + 2 layers
  for (size_t i = 0; i < out.hidden_states.size(); ++i) {
    CAPTURE(i);
    CHECK_CLOSE(out.hidden_states[i], reference(folder, "vision.hidden_states." + std::to_string(i)), 1e-4);
  }
}

}  // namespace

TEST_CASE("fp32 outputs match Blip2VisionModel within 1e-4 (OPT and T5 fixtures)") {
  check_against_references("blip2-opt-tiny", "fp32", true);
  check_against_references("blip2-t5-tiny", "fp32", true);
}

TEST_CASE("F16 and sharded BF16 checkpoints loaded into fp32 match their references within 1e-4") {
  check_against_references("blip2-opt-tiny-fp16", "fp32", false);
  check_against_references("blip2-opt-tiny-sharded", "fp32", false);
}

TEST_CASE("hidden states are only computed when asked for") {
  auto encoder = make<ImageEncoder>("blip2-vision", "blip2-opt-tiny");
  CHECK(encoder->encode(pixel_values(), false).hidden_states.empty());
}

TEST_CASE("a batch gives each image the outputs it gets alone") {
  auto encoder = make<ImageEncoder>("blip2-vision", "blip2-opt-tiny");
  const torch::Tensor pv = pixel_values();
  const ImageEncoder::Output both = encoder->encode(torch::cat({pv, pv.flip(0), pv}), false);
  for (int64_t i = 0; i < 2; ++i) {
    const ImageEncoder::Output one = encoder->encode(pv.narrow(0, i, 1), false);
    CHECK_CLOSE(both.last_hidden_state.narrow(0, i, 1), one.last_hidden_state, 1e-5);
    CHECK_CLOSE(both.pooler_output.narrow(0, i, 1), one.pooler_output, 1e-5);
    CHECK_CLOSE(both.last_hidden_state.narrow(0, 3 - i, 1), one.last_hidden_state, 1e-5);  // rows: a b | b a | a b
  }
}

TEST_CASE("bf16 on the CPU stays close to the fp32 reference and returns bf16") {
  auto encoder = make<ImageEncoder>("blip2-vision", "blip2-opt-tiny", "bf16");
  const ImageEncoder::Output out = encoder->encode(pixel_values(), false);
  CHECK((out.last_hidden_state.scalar_type() == torch::kBFloat16));
  const torch::Tensor expected = reference("blip2-opt-tiny", "vision.last_hidden_state");
  // Roundings on the path: patch embedding and positions (2), 12 per layer
  // (layer norm, qkv, scores, softmax, context, projection, residual, layer
  // norm, fc1, activation, fc2, residual), the post-layernorm (1).
  const int layers = 2;  // tests/fixtures/blip2-opt-tiny/config.json, vision_config
  const double error = relative_error(out.last_hidden_state, expected);
  CHECK_MESSAGE(error <= bf16_relative_bound(2 + 12 * layers + 1), "relative error " << error);
}

TEST_CASE("CUDA: fp32 matches the reference, fp16 stays close") {
  if (!torch::cuda::is_available()) {
    MESSAGE("no CUDA device: CUDA checks not run");
    return;
  }
  auto encoder = make<ImageEncoder>("blip2-vision", "blip2-opt-tiny", "fp32", "cuda");
  const ImageEncoder::Output out = encoder->encode(pixel_values(), true);
  CHECK(out.last_hidden_state.is_cuda());
  CHECK_CLOSE(out.last_hidden_state, reference("blip2-opt-tiny", "vision.last_hidden_state"), 1e-4);
  CHECK_CLOSE(out.hidden_states[1], reference("blip2-opt-tiny", "vision.hidden_states.1"), 1e-4);
  auto half = make<ImageEncoder>("blip2-vision", "blip2-opt-tiny", "fp16", "cuda");
  const torch::Tensor expected = reference("blip2-opt-tiny", "vision.last_hidden_state");
  const ImageEncoder::Output h = half->encode(pixel_values(), false);
  CHECK((h.last_hidden_state.scalar_type() == torch::kHalf));
  CHECK_CLOSE(h.last_hidden_state, expected, 0.01 * expected.abs().max().item<double>());
}

TEST_CASE("wrong pixel shapes are refused with a message") {
  auto encoder = make<ImageEncoder>("blip2-vision", "blip2-opt-tiny");
  CHECK_THROWS_WITH_AS(encoder->encode(torch::zeros({1, 4, 224, 224})), doctest::Contains("[B,3,H,W]"),
                       capbench::Error);
  CHECK_THROWS_WITH_AS(encoder->encode(torch::zeros({1, 3, 448, 448})), doctest::Contains("positions for 256"),
                       capbench::Error);
}
