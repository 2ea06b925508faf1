// nn::attention against the references' formulas written out: the scaling, the
// additive mask or bias, the softmax precision rule; and the head split/merge.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/nn/attention.h"
#include "core/nn/masks.h"

using namespace capbench;

namespace {

// softmax(scores) v, heads merged, all in fp64: the exact result.
at::Tensor exact(const at::Tensor& scores, const at::Tensor& v) {
  const at::Tensor context = at::matmul(at::softmax(scores.to(at::kDouble), -1), v.to(at::kDouble));
  return context.transpose(1, 2).reshape({v.size(0), scores.size(2), v.size(1) * v.size(3)});
}

double max_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace

TEST_CASE("split_heads and merge_heads are inverse; split is a view") {
  const at::Tensor x = torch::randn({2, 5, 12});
  const at::Tensor heads = nn::split_heads(x, 3);
  CHECK(heads.sizes() == at::IntArrayRef({2, 3, 5, 4}));
  CHECK(heads.data_ptr() == x.data_ptr());
  CHECK(torch::equal(heads[1][2][4], x[1][4].narrow(0, 8, 4)));
  CHECK(torch::equal(nn::merge_heads(heads), x));
}

TEST_CASE("attention scales the scores as asked: none, times, divided by") {
  torch::manual_seed(0);
  const at::Tensor q = torch::randn({2, 3, 4, 8}), k = torch::randn({2, 3, 6, 8}), v = torch::randn({2, 3, 6, 8});
  const at::Tensor scores = at::matmul(q.to(at::kDouble), k.to(at::kDouble).transpose(-1, -2));
  CHECK(max_diff(nn::attention(q, k, v, {}, {nn::ScoreScale::none()}), exact(scores, v)) < 1e-5);
  CHECK(max_diff(nn::attention(q, k, v, {}, {nn::ScoreScale::times(0.25)}), exact(scores * 0.25, v)) < 1e-5);
  CHECK(max_diff(nn::attention(q, k, v, {}, {nn::ScoreScale::divided_by(std::sqrt(8.0))}),
                 exact(scores / std::sqrt(8.0), v)) < 1e-5);
  CHECK(nn::ScoreScale::divided_by(4.0).factor() == doctest::Approx(0.25));
}

TEST_CASE("attention adds a mask or bias: masked keys get no weight, a bias shifts the scores") {
  torch::manual_seed(1);
  const at::Tensor q = torch::randn({2, 2, 3, 4}), k = torch::randn({2, 2, 5, 4}), v = torch::randn({2, 2, 5, 4});
  const at::Tensor scores = at::matmul(q, k.transpose(-1, -2)).to(at::kDouble);
  SUBCASE("padding") {
    const at::Tensor mask = torch::tensor({{1, 1, 1, 0, 0}, {1, 1, 1, 1, 1}}, torch::kLong);
    const at::Tensor got = nn::attention(q, k, v, nn::key_padding_bias(mask, at::kFloat), {});
    // Row 0 attends only to its first three keys.
    const at::Tensor row0 = exact(scores.narrow(0, 0, 1).narrow(3, 0, 3), v.narrow(0, 0, 1).narrow(2, 0, 3));
    CHECK(max_diff(got.narrow(0, 0, 1), row0) < 1e-5);
    CHECK(max_diff(got.narrow(0, 1, 1), exact(scores.narrow(0, 1, 1), v.narrow(0, 1, 1))) < 1e-5);
  }
  SUBCASE("a relative-position style bias [1,H,Tq,Tk]") {
    const at::Tensor bias = torch::randn({1, 2, 3, 5});
    CHECK(max_diff(nn::attention(q, k, v, bias, {}), exact(scores + bias.to(at::kDouble), v)) < 1e-5);
  }
}

TEST_CASE("attention reads keys and values given as views of a larger buffer") {
  torch::manual_seed(2);
  const at::Tensor buffer_k = torch::randn({1, 2, 10, 4}), buffer_v = torch::randn({1, 2, 10, 4});
  const at::Tensor q = torch::randn({1, 2, 1, 4});
  const at::Tensor k = buffer_k.narrow(2, 0, 6), v = buffer_v.narrow(2, 0, 6);
  CHECK(max_diff(nn::attention(q, k, v, {}, {}), nn::attention(q, k.contiguous(), v.contiguous(), {}, {})) < 1e-6);
}

TEST_CASE("the softmax runs in float32 where the reference asks for it") {
  // Double inputs make the rule visible on any kernel: a float32 softmax rounds
  // the probabilities to float32, one in the input's dtype does not.
  torch::manual_seed(3);
  const at::Tensor q = torch::randn({1, 1, 4, 8}, torch::kDouble), k = torch::randn({1, 1, 16, 8}, torch::kDouble);
  const at::Tensor v = torch::randn({1, 1, 16, 8}, torch::kDouble);
  const at::Tensor scores = at::matmul(q, k.transpose(-1, -2));
  const at::Tensor in_float32 = nn::merge_heads(at::matmul(at::softmax(scores, -1, at::kFloat).to(at::kDouble), v));
  const at::Tensor in_input = nn::merge_heads(at::matmul(at::softmax(scores, -1), v));
  REQUIRE_FALSE(torch::equal(in_float32, in_input));
  const nn::ScoreScale none = nn::ScoreScale::none();
  const at::Tensor t5 = nn::attention(q, k, v, {}, {none, nn::SoftmaxPrecision::float32});
  CHECK((t5.scalar_type() == at::kDouble));
  CHECK(torch::equal(t5, in_float32));
  CHECK(torch::equal(nn::attention(q, k, v, {}, {none, nn::SoftmaxPrecision::input}), in_input));
  // OPT's rule: float32 only for fp16 scores.
  CHECK(torch::equal(nn::attention(q, k, v, {}, {none, nn::SoftmaxPrecision::float32_for_fp16}), in_input));
}
