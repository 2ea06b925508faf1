// BLIP-2 end to end: reference pixel values through the blip2-vision, qformer
// and opt plugins and the search engine give transformers' ids.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include "tests/plugins/generation_fixture.h"

using namespace capbench;
using namespace capbench::testing;

TEST_CASE("end to end: pixels through blip2-vision, qformer and opt give transformers' ids") {
  auto encoder = make_component<ImageEncoder>("blip2-vision", "blip2-opt-tiny");
  auto bridge = make_component<Bridge>("qformer", "blip2-opt-tiny");
  auto decoder = make_component<TextDecoder>("opt", "blip2-opt-tiny");
  const Checkpoint refs = references("blip2-opt-tiny");
  at::Tensor soft;
  {
    c10::InferenceMode inference;
    soft = bridge->bridge(encoder->encode(refs.view("pixel_values")).last_hidden_state).soft_prompt;
  }
  CHECK(max_abs_diff(soft, refs.view("language_projection")) < 1e-4);
  check_blip2_opt_cases(*decoder, soft, {"greedy_noprompt", "beam3_prompt"});
}
