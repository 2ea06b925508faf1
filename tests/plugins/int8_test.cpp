// dtype "int8" in every BLIP-2 plugin against transformers' fp32 references,
// within a bound derived from int8's precision.
//
// An int8 product quantizes W's rows (step s_r = max|W_r| / 127) and each input
// row x (step max|x| / 127), rounding to nearest: each value is off by an error
// spread evenly over one step, of root mean square step / sqrt(12). Where
// oneDNN halves the weights (no VNNI: nn::int8_weight_bits() == 7) a weight's
// error spans up to 3 steps, so its steps count c = 3 times (c = 1 with 8 bits):
//   ||dW||_F / ||W||_F = sqrt(sum_r K c^2 s_r^2 / 12) / ||W||_F =: delta_W
// (computed here from the checkpoint's own weights, the largest over its
// matrices) and, as max|x| <= ||x||,
//   ||dx|| / ||x|| <= sqrt(K) / (127 sqrt(12)) =: delta_x
// (K the widest input), so one product adds delta = delta_W + delta_x (+ their
// product). The roundings of different products are independent, so n of them
// add in root sum square: sqrt(n) delta. A wrong scale, row or layout gives
// errors of order 1, and every bound below stays under 0.5 (checked), so these
// tests fail on them. README, Speed, gives the measured agreement with fp32.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "core/nn/packed_linear.h"
#include "core/nn/placement.h"
#include "tests/plugins/blip2_test_support.h"
#include "tests/plugins/generation_fixture.h"

using namespace capbench;
using blip2_test::reference;
using blip2_test::relative_error;

namespace {

// delta for the 2-d weights of `folder` whose names start with `prefix`.
double int8_delta(const std::string& folder, const std::string& prefix) {
  const Checkpoint checkpoint = Checkpoint::open(testing::fixture(folder));
  const double c = nn::int8_weight_bits() == 8 ? 1.0 : 3.0;
  double delta_w = 0, widest = 0;
  for (const std::string& name : checkpoint.names(prefix)) {
    const at::Tensor w = checkpoint.view(name);
    if (w.dim() != 2 || name.size() < 7 || name.compare(name.size() - 7, 7, ".weight") != 0) continue;
    const at::Tensor wd = w.to(at::kDouble);
    const double k = static_cast<double>(w.size(1));
    const at::Tensor steps = wd.abs().amax({1}) / 127;
    const double error = std::sqrt(k * c * c / 12 * steps.pow(2).sum().item<double>());
    delta_w = std::max(delta_w, error / wd.norm().item<double>());
    widest = std::max(widest, k);
  }
  REQUIRE(widest > 0);
  const double delta_x = std::sqrt(widest) / (127 * std::sqrt(12.0));
  return delta_w + delta_x + delta_w * delta_x;
}

// The bound for `products` int8 products of relative error `delta` each.
double int8_bound(int products, double delta) {
  const double bound = std::sqrt(static_cast<double>(products)) * delta;
  CHECK_MESSAGE(bound < 0.5, "the bound " << bound << " would not tell a wrong result from a right one");
  return bound;
}

bool int8_runs_here() {
  if (nn::cpu_features().int8) return true;
  MESSAGE("this CPU has no int8 kernels (below AVX2): int8 checks not run");
  return false;
}

}  // namespace

TEST_CASE("int8 vision encoder: fp32 outputs, within the int8 bound of the reference") {
  if (!int8_runs_here()) return;
  auto encoder = blip2_test::make<ImageEncoder>("blip2-vision", "blip2-opt-tiny", "int8");
  const ImageEncoder::Output out = encoder->encode(blip2_test::pixel_values(), false);
  CHECK((out.last_hidden_state.scalar_type() == nn::int8_activation_dtype()));
  // Per layer: q, k, v (one product, three outputs that meet in the scores and
  // the context), the projection, fc1, fc2.
  const int layers = 2;  // tests/fixtures/blip2-opt-tiny/config.json, vision_config
  const double delta = int8_delta("blip2-opt-tiny", "vision_model."), bound = int8_bound(6 * layers, delta);
  const double error = relative_error(out.last_hidden_state, reference("blip2-opt-tiny", "vision.last_hidden_state"));
  CHECK_MESSAGE(error <= bound, "relative error " << error << ", bound " << bound);
}

TEST_CASE("int8 Q-Former and projection: within the int8 bound of the reference") {
  if (!int8_runs_here()) return;
  auto bridge = blip2_test::make<Bridge>("qformer", "blip2-opt-tiny", "int8");
  const Bridge::Output out = bridge->bridge(reference("blip2-opt-tiny", "vision.last_hidden_state"), false);
  // Per layer: self-attention q, k, v, output; cross-attention the same (counted
  // in every layer, an upper bound); the feed-forward's two; then the projection.
  const int layers = 2;  // qformer_config
  const double delta = std::max(int8_delta("blip2-opt-tiny", "qformer."), int8_delta("blip2-opt-tiny", "language_projection."));
  const double bound = int8_bound(10 * layers + 1, delta);
  const double error = relative_error(out.soft_prompt, reference("blip2-opt-tiny", "language_projection"));
  CHECK_MESSAGE(error <= bound, "relative error " << error << ", bound " << bound);
}

TEST_CASE("int8 OPT: logits of every position within the int8 bound; cached steps follow the full forward") {
  if (!int8_runs_here()) return;
  auto decoder = testing::make_component<TextDecoder>("opt", "blip2-opt-tiny", "int8");
  const Checkpoint refs = testing::references("blip2-opt-tiny");
  const at::Tensor soft = refs.view("language_projection"), ids = refs.view("fwd_prompt.input_ids"),
                   mask = refs.view("fwd_prompt.attention_mask");
  const TextDecoder::Forward out = decoder->forward(soft, ids, mask, {});
  // Per layer: q, k, v, out_proj, fc1, fc2; then the lm_head.
  const int layers = 2;  // text_config
  const double bound = int8_bound(6 * layers + 1, int8_delta("blip2-opt-tiny", "language_model."));
  const double error = relative_error(out.logits.narrow(2, 0, 1024), refs.view("fwd_prompt.logits_head1024"));
  CHECK_MESSAGE(error <= bound, "relative error " << error << ", bound " << bound);
  // start() and step() compute what forward() does, row for row: the same int8
  // products of the same inputs (per-token scales do not depend on the batch).
  TextDecoder::Start start = decoder->start(soft, ids, mask);
  CHECK(blip2_test::max_abs_diff(start.logits, out.logits.select(1, out.logits.size(1) - 1)) <= 1e-4);
}

TEST_CASE("int8 T5: logits within the int8 bound of the reference") {
  if (!int8_runs_here()) return;
  auto decoder = testing::make_component<TextDecoder>("t5", "blip2-t5-tiny", "int8");
  const Checkpoint refs = testing::references("blip2-t5-tiny");
  const TextDecoder::Forward out =
      decoder->forward(refs.view("language_projection"), refs.view("fwd_prompt.input_ids"),
                       refs.view("fwd_prompt.attention_mask"), refs.view("fwd_prompt.decoder_input_ids"));
  // Encoder block: q, k, v, o, wi_0, wi_1, wo; decoder block: those of
  // self-attention, cross-attention and the feed-forward (4 + 4 + 3); the lm_head.
  const int blocks = 2;  // text_config num_layers = num_decoder_layers
  const double bound = int8_bound(7 * blocks + 11 * blocks + 1, int8_delta("blip2-t5-tiny", "language_model."));
  const at::Tensor expected = refs.view("fwd_prompt.logits_head1024");
  const double error = relative_error(out.logits.narrow(2, 0, expected.size(2)), expected);
  CHECK_MESSAGE(error <= bound, "relative error " << error << ", bound " << bound);
}

TEST_CASE("int8 is refused with one line where it cannot run") {
  if (!torch::cuda::is_available()) return;
  CHECK_THROWS_WITH_AS(testing::make_component<TextDecoder>("opt", "blip2-opt-tiny", "int8", "cuda"),
                       doctest::Contains("int8 runs on the CPU only"), Error);
}
