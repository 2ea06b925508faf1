// nn::BatchState: a decoder declares its batch-major tensors and caches once;
// select() keeps rows of all of them, and does nothing for an unchanged order.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/nn/decoder_state.h"

using namespace capbench;

namespace {

struct ToyState : nn::BatchState {
  nn::KvCache cache;
  at::Tensor positions;     // [R]
  at::Tensor padding;       // [R,1,1,S]
  at::Tensor not_per_row;   // not tracked
  at::Tensor never_set;     // tracked, undefined
  ToyState() {
    track(cache);
    track(positions);
    track(padding);
    track(never_set);
  }
};

struct OtherState : nn::BatchState {};

std::unique_ptr<ToyState> make_state() {
  auto state = std::make_unique<ToyState>();
  state->cache.allocate(1, 3, 1, 2, 4, torch::TensorOptions());
  state->cache.append(0, torch::arange(3, torch::kFloat).view({3, 1, 1, 1}).expand({3, 1, 1, 2}),
                      torch::zeros({3, 1, 1, 2}));
  state->cache.advance(1);
  state->positions = torch::tensor({10, 11, 12}, torch::kLong);
  state->padding = torch::arange(3, torch::kFloat).view({3, 1, 1, 1});
  state->not_per_row = torch::ones({1, 5});
  return state;
}

}  // namespace

TEST_CASE("select reorders every tracked tensor and cache; untracked ones stay") {
  auto state = make_state();
  CHECK(state->rows() == 3);
  state->select(torch::tensor({2, 0, 0, 1}, torch::kInt));  // any integer dtype
  CHECK(state->rows() == 4);
  CHECK(torch::equal(state->positions, torch::tensor({12, 10, 10, 11}, torch::kLong)));
  CHECK(torch::equal(state->padding.reshape({4}), torch::tensor({2.0f, 0.0f, 0.0f, 1.0f})));
  CHECK(torch::equal(state->cache.keys(0).select(3, 0).reshape({4}), torch::tensor({2.0f, 0.0f, 0.0f, 1.0f})));
  CHECK(state->not_per_row.sizes() == at::IntArrayRef({1, 5}));
  CHECK_FALSE(state->never_set.defined());
}

TEST_CASE("select with the unchanged order touches nothing") {
  auto state = make_state();
  const void* positions = state->positions.data_ptr();
  const void* keys = state->cache.keys(0).data_ptr();
  state->select(torch::arange(3, torch::kLong));
  CHECK(state->positions.data_ptr() == positions);
  CHECK(state->cache.keys(0).data_ptr() == keys);
}

TEST_CASE("state_of names the decoder when the state is another decoder's") {
  auto state = make_state();
  DecoderState& base = *state;
  CHECK(&nn::state_of<ToyState>(base, "toy") == state.get());
  CHECK_THROWS_WITH_AS(nn::state_of<OtherState>(base, "other"), doctest::Contains("other:"), Error);
}
