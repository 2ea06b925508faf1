// nn::Linear packs its weight on the CPU (nn::PackedLinear, whose accuracy
// tests/core/nn/packed_linear_test.cpp bounds) or keeps libtorch's product (by
// row count: matrix-vector product, BLAS, oneDNN); every path must give
// at::linear's result, and a reduced-precision layer must stay within its
// dtype's rounding of fp32. Packing lets go of the source tensors.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/nn/activations.h"
#include "core/nn/linear.h"
#include "core/safetensors.h"
#include "tests/test_support.h"

using namespace capbench;

namespace {

std::shared_ptr<nn::Linear> prepared(const at::Tensor& weight, const at::Tensor& bias = {}) {
  auto layer = std::make_shared<nn::Linear>(weight, bias);
  layer->prepare();
  return layer;
}

std::shared_ptr<nn::Linear> prepared_as(std::optional<nn::PackedCompute> compute, const at::Tensor& weight,
                                        const at::Tensor& bias = {}, const std::string& activation = "") {
  auto layer = std::make_shared<nn::Linear>(weight, bias);
  if (!activation.empty()) layer->set_activation(activation);
  layer->prepare(compute);
  return layer;
}

}  // namespace

TEST_CASE("nn::Linear equals at::linear for every row count, with and without bias, packed or not") {
  torch::manual_seed(0);
  const at::Tensor weight = torch::randn({48, 40}) * 0.1;
  const at::Tensor bias = torch::randn({48});
  std::vector<std::optional<nn::PackedCompute>> computes{std::nullopt};
  if (nn::packed_linear_available()) computes.push_back(nn::PackedCompute::fp32);
  for (const auto& compute : computes) {
    CAPTURE(compute.has_value());
    const auto with_bias = prepared_as(compute, weight, bias), without_bias = prepared_as(compute, weight);
    CHECK((with_bias->compute() == compute));
    for (int64_t rows : {1, 2, 15, 16, 17, 64}) {
      CAPTURE(rows);
      const at::Tensor x = torch::randn({rows, 40});
      CHECK(torch::allclose(with_bias->forward(x), at::linear(x, weight, bias), 1e-5, 1e-5));
      CHECK(torch::allclose(without_bias->forward(x), at::linear(x, weight), 1e-5, 1e-5));
    }
  }
}

TEST_CASE("prepare() packs fp32 and bf16 CPU weights when capbench has oneDNN") {
  const auto fp32 = prepared(torch::randn({4, 3}));
  const auto bf16 = prepared(torch::randn({4, 3}).to(torch::kBFloat16));
  if (nn::packed_linear_available()) {
    CHECK((fp32->compute() == nn::PackedCompute::fp32));
    CHECK((bf16->compute() == nn::PackedCompute::bf16));
  } else {
    CHECK_FALSE(fp32->compute().has_value());
  }
}

TEST_CASE("an activation given to the layer equals the activation of its product, fused or not") {
  torch::manual_seed(3);
  const at::Tensor weight = torch::randn({24, 32}) * 0.3, bias = torch::randn({24});
  std::vector<std::optional<nn::PackedCompute>> computes{std::nullopt};
  if (nn::packed_linear_available()) computes.push_back(nn::PackedCompute::fp32);
  for (const auto& compute : computes) {
    for (const char* act : {"gelu", "gelu_new", "quick_gelu", "relu", "silu"}) {
      CAPTURE(act);
      const auto layer = prepared_as(compute, weight, bias, act);
      const at::Tensor x = torch::randn({5, 32});
      // oneDNN evaluates erf / tanh / exp by polynomials within a few ulp.
      CHECK(torch::allclose(layer->forward(x), nn::activation(act, at::linear(x, weight, bias)), 1e-5, 1e-6));
    }
  }
  CHECK_THROWS_AS(nn::Linear(weight).set_activation("tanh"), Error);
}

TEST_CASE("a bf16 layer rounds its product to bf16 before the activation, as transformers does") {
  if (!nn::packed_linear_available()) return;
  torch::manual_seed(4);
  const at::Tensor weight = torch::randn({16, 64}).to(torch::kBFloat16);
  const auto plain = prepared_as(nn::PackedCompute::bf16, weight);
  const auto activated = prepared_as(nn::PackedCompute::bf16, weight, {}, "gelu");
  const at::Tensor x = torch::randn({3, 64}).to(torch::kBFloat16);
  CHECK(torch::equal(activated->forward(x), at::gelu(plain->forward(x))));
}

TEST_CASE("packing lets go of the source tensors; a weight shared with another module stays valid") {
  if (!nn::packed_linear_available()) return;
  at::Tensor weight = torch::randn({6, 5}), bias = torch::randn({6});
  const at::Tensor copy = weight.clone();
  auto layer = std::make_shared<nn::Linear>(weight, bias);
  CHECK(layer->named_parameters().size() == 2);
  const at::Tensor x = torch::randn({2, 5});
  const at::Tensor expected = at::linear(x, copy, bias);
  layer->prepare();
  CHECK(layer->named_parameters().size() == 0);  // nothing left to hold the weight
  CHECK(weight.use_count() == 1);
  CHECK(torch::equal(weight, copy));  // the caller's tensor is untouched
  CHECK(torch::allclose(layer->forward(x), expected, 1e-5, 1e-6));
  CHECK(layer->weight_bytes() >= 6 * 5 * 4);
  CHECK(layer->in_features() == 5);
  CHECK(layer->out_features() == 6);
}

TEST_CASE("a packed layer over a weight mapped from a file keeps the file's tensor readable (a tied embedding)") {
  if (!nn::packed_linear_available() || !nn::cpu_features().int8) return;
  testing::TempDir dir;
  torch::manual_seed(5);
  const at::Tensor table = torch::randn({300, 64});
  write_safetensors(dir / "model.safetensors", {{"embed.weight", table}});
  const Checkpoint checkpoint = Checkpoint::open(dir.path());
  const at::Tensor embedding = checkpoint.view("embed.weight");
  nn::Linear lm_head(embedding);
  lm_head.prepare(nn::PackedCompute::int8);
  CHECK(torch::equal(embedding, table));  // its pages were dropped and are read again
  CHECK((lm_head.compute() == nn::PackedCompute::int8));
  CHECK(lm_head.weight_bytes() < static_cast<size_t>(table.nbytes() / 2));
}

TEST_CASE("nn::prepare with a placement packs for its dtype; load_options keeps the packed weights stored") {
  torch::nn::Module model;
  auto a = model.register_module("a", std::make_shared<nn::Linear>(torch::randn({8, 4})));
  auto level = model.register_module("level", std::make_shared<torch::nn::Module>());
  auto b = level->register_module("b", std::make_shared<nn::Linear>(torch::randn({3, 8})));
  CHECK(nn::linear_weight_names(model) == std::set<std::string>{"a.weight", "level.b.weight"});
  CHECK(nn::linear_weight_names(*a) == std::set<std::string>{"weight"});
  nn::Placement int8;
  int8.int8 = true;
  const LoadOptions options = nn::load_options(int8, model);
  CHECK((options.dtype == at::kFloat));
  if (!nn::packed_linear_available() || !nn::cpu_features().int8) {
    CHECK(options.keep_stored.empty() == !nn::packed_linear_available());
    return;
  }
  CHECK(options.keep_stored == std::set<std::string>{"a.weight", "level.b.weight"});
  nn::prepare(model, int8);
  CHECK((a->compute() == nn::PackedCompute::int8));
  CHECK((b->compute() == nn::PackedCompute::int8));
  CHECK(a->forward(torch::randn({2, 4})).sizes() == at::IntArrayRef({2, 8}));
  nn::Placement cuda_like;
  cuda_like.device = c10::Device(c10::kCUDA);
  CHECK_FALSE(nn::packed_compute_for(cuda_like).has_value());
  CHECK(nn::load_options(cuda_like, model).keep_stored.empty());
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
