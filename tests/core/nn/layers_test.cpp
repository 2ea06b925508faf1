// nn::linear takes a different libtorch path by row count (matrix-vector
// product, BLAS, oneDNN); every path must give at::linear's result.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include "core/nn/layers.h"

using namespace capbench;

TEST_CASE("nn::linear equals at::linear for every row count, with and without bias") {
  torch::manual_seed(0);
  const at::Tensor weight = torch::randn({48, 40}) * 0.1;
  const at::Tensor bias = torch::randn({48});
  for (int64_t rows : {1, 2, 15, 16, 17, 64}) {
    CAPTURE(rows);
    const at::Tensor x = torch::randn({rows, 40});
    CHECK(torch::allclose(nn::linear(x, weight, bias), at::linear(x, weight, bias), 1e-5, 1e-5));
    CHECK(torch::allclose(nn::linear(x, weight), at::linear(x, weight), 1e-5, 1e-5));
  }
}

TEST_CASE("nn::linear keeps leading dimensions and accepts non-contiguous input") {
  torch::manual_seed(1);
  const at::Tensor weight = torch::randn({24, 32});
  const at::Tensor x = torch::randn({3, 7, 32});
  const at::Tensor y = nn::linear(x, weight);
  CHECK(y.sizes() == at::IntArrayRef({3, 7, 24}));
  CHECK(torch::allclose(y, at::linear(x, weight), 1e-5, 1e-5));
  const at::Tensor strided = torch::randn({32, 20}).t();  // [20, 32], not contiguous
  CHECK(torch::allclose(nn::linear(strided, weight), at::linear(strided, weight), 1e-5, 1e-5));
  const at::Tensor one = torch::randn({1, 1, 32});
  CHECK(nn::linear(one, weight).sizes() == at::IntArrayRef({1, 1, 24}));
}

TEST_CASE("bf16 input goes through libtorch's own path") {
  const at::Tensor weight = torch::randn({8, 16}).to(torch::kBFloat16);
  const at::Tensor x = torch::randn({32, 16}).to(torch::kBFloat16);
  CHECK((nn::linear(x, weight).scalar_type() == torch::kBFloat16));
}
