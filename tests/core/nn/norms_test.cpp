// RMSNorm as T5LayerNorm computes it, LayerNorm with and without affine
// parameters; both filled through load_module like any model's layers.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include "core/nn/norms.h"

using namespace capbench;

namespace {

void set_parameter(torch::nn::Module& module, const std::string& name, const at::Tensor& value) {
  torch::NoGradGuard no_grad;
  module.named_parameters()[name].set_data(value);
}

}  // namespace

TEST_CASE("RMSNorm: x / sqrt(mean(x^2) + eps) * weight, no mean subtracted") {
  torch::manual_seed(0);
  nn::RMSNorm norm(8, 1e-6);
  const at::Tensor weight = torch::randn({8});
  set_parameter(norm, "weight", weight);
  const at::Tensor x = torch::randn({2, 3, 8}) + 5;  // a mean far from 0
  const at::Tensor expected = x * torch::rsqrt(x.pow(2).mean(-1, true) + 1e-6) * weight;
  CHECK(torch::allclose(norm.forward(x), expected, 1e-6, 1e-5));
}

TEST_CASE("RMSNorm in bf16: the mean square in float32, the result cast to bf16 before the weight") {
  torch::manual_seed(1);
  nn::RMSNorm norm(8, 1e-6);
  const at::Tensor weight = torch::randn({8}).to(at::kBFloat16);
  set_parameter(norm, "weight", weight);
  const at::Tensor x = (torch::randn({4, 8}) * 100).to(at::kBFloat16);
  const at::Tensor xf = x.to(at::kFloat);
  const at::Tensor expected = weight * (xf * torch::rsqrt(xf.pow(2).mean(-1, true) + 1e-6)).to(at::kBFloat16);
  const at::Tensor got = norm.forward(x);
  CHECK((got.scalar_type() == at::kBFloat16));
  CHECK(torch::equal(got, expected));
}

TEST_CASE("LayerNorm with and without affine parameters") {
  torch::manual_seed(2);
  const at::Tensor x = torch::randn({3, 6});
  nn::LayerNorm plain(6, 1e-5, false);
  CHECK(plain.named_parameters().size() == 0);
  CHECK(torch::allclose(plain.forward(x), at::layer_norm(x, {6}, {}, {}, 1e-5)));
  nn::LayerNorm affine(6, 1e-5);
  const at::Tensor w = torch::randn({6}), b = torch::randn({6});
  set_parameter(affine, "weight", w);
  set_parameter(affine, "bias", b);
  CHECK(torch::allclose(affine.forward(x), at::layer_norm(x, {6}, w, b, 1e-5)));
}
