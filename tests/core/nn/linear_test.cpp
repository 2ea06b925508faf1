// nn::Linear takes a different libtorch path by row count (matrix-vector
// product, BLAS, oneDNN); every path must give at::linear's result, and a
// reduced-precision layer must stay within its dtype's rounding of fp32.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "core/nn/linear.h"

using namespace capbench;

namespace {

std::shared_ptr<nn::Linear> prepared(const at::Tensor& weight, const at::Tensor& bias = {}) {
  auto layer = std::make_shared<nn::Linear>(weight, bias);
  layer->prepare();
  return layer;
}

}  // namespace

TEST_CASE("nn::Linear equals at::linear for every row count, with and without bias") {
  torch::manual_seed(0);
  const at::Tensor weight = torch::randn({48, 40}) * 0.1;
  const at::Tensor bias = torch::randn({48});
  const auto with_bias = prepared(weight, bias), without_bias = prepared(weight);
  for (int64_t rows : {1, 2, 15, 16, 17, 64}) {
    CAPTURE(rows);
    const at::Tensor x = torch::randn({rows, 40});
    CHECK(torch::allclose(with_bias->forward(x), at::linear(x, weight, bias), 1e-5, 1e-5));
    CHECK(torch::allclose(without_bias->forward(x), at::linear(x, weight), 1e-5, 1e-5));
  }
}

TEST_CASE("nn::Linear keeps leading dimensions and accepts non-contiguous input") {
  torch::manual_seed(1);
  const at::Tensor weight = torch::randn({24, 32});
  const auto layer = prepared(weight);
  const at::Tensor x = torch::randn({3, 7, 32});
  const at::Tensor y = layer->forward(x);
  CHECK(y.sizes() == at::IntArrayRef({3, 7, 24}));
  CHECK(torch::allclose(y, at::linear(x, weight), 1e-5, 1e-5));
  const at::Tensor strided = torch::randn({32, 20}).t();  // [20, 32], not contiguous
  CHECK(torch::allclose(layer->forward(strided), at::linear(strided, weight), 1e-5, 1e-5));
  CHECK(layer->forward(torch::randn({1, 1, 32})).sizes() == at::IntArrayRef({1, 1, 24}));
  CHECK(layer->in_features() == 32);
  CHECK(layer->out_features() == 24);
}

TEST_CASE("nn::Linear in bf16 stays within bf16 rounding of the fp32 product of the same values") {
  torch::manual_seed(2);
  const at::Tensor weight = torch::randn({32, 64}).to(torch::kBFloat16);
  const at::Tensor bias = torch::randn({32}).to(torch::kBFloat16);
  const auto layer = prepared(weight, bias);
  for (int64_t rows : {1, 4, 32}) {
    CAPTURE(rows);
    const at::Tensor x = torch::randn({rows, 64}).to(torch::kBFloat16);
    const at::Tensor y = layer->forward(x);
    REQUIRE((y.scalar_type() == torch::kBFloat16));
    // The exact product of the bf16 inputs, in fp32 (exact enough: 64 terms).
    const at::Tensor expected = at::linear(x.to(torch::kFloat), weight.to(torch::kFloat), bias.to(torch::kFloat));
    // bf16 keeps 8 significant bits: rounding the result (and the partial sums a
    // kernel may keep in bf16) costs at most 2^-8 of the sum of the terms' magnitudes.
    const at::Tensor magnitude = at::linear(x.to(torch::kFloat).abs(), weight.to(torch::kFloat).abs(),
                                            bias.to(torch::kFloat).abs());
    const at::Tensor error = (y.to(torch::kFloat) - expected).abs();
    CHECK((error <= magnitude * std::pow(2.0, -8)).all().item<bool>());
  }
}

TEST_CASE("nn::Linear refuses forward() before prepare() and set_bias() after it") {
  nn::Linear layer(torch::randn({4, 3}));
  CHECK_THROWS_AS(layer.forward(torch::randn({2, 3})), Error);
  layer.set_bias(torch::ones({4}));
  layer.prepare();
  CHECK(torch::allclose(layer.forward(torch::zeros({2, 3})), torch::ones({2, 4})));
  CHECK_THROWS_AS(layer.set_bias(torch::zeros({4})), Error);
}

TEST_CASE("nn::prepare prepares every Linear below a module") {
  torch::nn::Module model;
  auto a = model.register_module("a", std::make_shared<nn::Linear>(torch::randn({2, 2})));
  auto level = model.register_module("level", std::make_shared<torch::nn::Module>());
  auto b = level->register_module("b", std::make_shared<nn::Linear>(3, 2));
  CHECK_FALSE(a->prepared());
  nn::prepare(model);
  CHECK(a->prepared());
  CHECK(b->prepared());
}
