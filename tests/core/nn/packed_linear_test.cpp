// nn::PackedLinear in fp32, bf16 and int8 against at::linear computed in double
// precision, within error bounds derived from each format's precision (below),
// at many row counts, odd sizes, with and without bias and fused activation.
//
// Notation: y = x W^T + b, K = in features, u = 2^-24 (fp32 unit roundoff),
// u_b = 2^-8 (bf16's), gamma(n) = n u / (1 - n u), A = |x| |W|^T (the sum of
// |x_k w_k| per output), and L = 1.13 >= the largest slope of every fused
// activation (relu 1, gelu 1.129, gelu_tanh 1.129, quick_gelu and silu 1.0998).
//
//   fp32  a K-term dot product plus the bias, in any order:
//         |err| <= gamma(K + 1) (A + |b|).
//   bf16  x and W rounded to bf16 give |x^ w^ - x w| <= (2 u_b + u_b^2) |x w|;
//         then the fp32 sum as above over |x^ w^| <= (1 + u_b)^2 |x w|; a bf16
//         output rounds once more: + u_b |y|.
//   int8  W's rows quantized with step s_n = max|W_n| / 127: each weight is off by
//         e_n <= s_n / 2, or <= 1.5 s_n where oneDNN halves the weights (no VNNI:
//         int8_weight_bits() == 7, the halved value rounds off one more step);
//         x's rows with step t_m = max|x_m| / 127: e_m <= t_m / 2 (+ the fp32
//         rounding of x / t_m, 2^-16 relative at most). |x^ w^ - x w| <= |x| e_n
//         + (|w| + e_n) e_m, summed exactly in int32; then the fp32 dequantization
//         (conversion, two scales, bias: 8 roundings at most) of values below
//         A + E + |b|.
//   activation: L times the bound before it, plus the evaluation error of
//         oneDNN's polynomial erf/tanh/exp, which its documentation puts within a
//         few ulp; we allow 32 u |y| + 1e-7 (near 0, where |y| says nothing).
#include "core/nn/packed_linear.h"

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

#include "core/error.h"

using namespace capbench;
using nn::FusedActivation;
using nn::PackedCompute;

namespace {

constexpr double kU = 1.0 / (1 << 24);
constexpr double kUb = 1.0 / (1 << 8);
constexpr double kSlope = 1.13;

double gamma(double n) { return n * kU / (1 - n * kU); }

at::Tensor activate(const at::Tensor& y, FusedActivation activation) {
  switch (activation) {
    case FusedActivation::none: return y;
    case FusedActivation::relu: return at::relu(y);
    case FusedActivation::gelu_erf: return at::gelu(y);
    case FusedActivation::gelu_tanh: return at::gelu(y, "tanh");
    case FusedActivation::quick_gelu: return y * at::sigmoid(y * 1.702);
    case FusedActivation::silu: return at::silu(y);
  }
  return y;
}

// The bound on |packed - exact| for each output, in double.
at::Tensor error_bound(PackedCompute compute, const at::Tensor& x, const at::Tensor& w, const at::Tensor& b,
                       const at::Tensor& exact, bool bf16_output, FusedActivation activation) {
  const at::Tensor xd = x.to(at::kDouble).reshape({-1, x.size(-1)}), wd = w.to(at::kDouble);
  const double k = static_cast<double>(x.size(-1));
  const at::Tensor sum_abs = at::mm(xd.abs(), wd.abs().t());
  const at::Tensor bias_abs = b.defined() ? b.to(at::kDouble).abs() : at::zeros({w.size(0)}, at::kDouble);
  at::Tensor bound;
  if (compute == PackedCompute::fp32) {
    bound = gamma(k + 1) * (sum_abs + bias_abs);
  } else if (compute == PackedCompute::bf16) {
    bound = (2 * kUb + kUb * kUb) * sum_abs + gamma(k + 1) * ((1 + kUb) * (1 + kUb) * sum_abs + bias_abs);
  } else {
    const double weight_steps = nn::int8_weight_bits() == 8 ? 0.5 : 1.5;
    const at::Tensor e_w = weight_steps * wd.abs().amax({1}) / 127;               // [out]
    const at::Tensor e_x = (0.5 + 1.0 / 65536) * xd.abs().amax({1}, true) / 127;  // [rows, 1]
    const at::Tensor quantization = xd.abs().sum({1}, true) * e_w + e_x * (wd.abs().sum({1}) + k * e_w);
    bound = quantization + 8 * kU * (sum_abs + quantization + bias_abs);
  }
  bound = bound.reshape(exact.sizes());
  if (activation != FusedActivation::none) bound = kSlope * bound + 32 * kU * exact.abs() + 1e-7;
  if (bf16_output) bound = bound + kUb * (exact.abs() + bound);
  return bound;
}

// Checks forward(x) against the double-precision reference; returns the largest
// ratio error / bound (for the message).
void check_against_reference(const nn::PackedLinear& layer, PackedCompute compute, const at::Tensor& x,
                             const at::Tensor& w, const at::Tensor& b, FusedActivation activation) {
  const at::Tensor y = layer.forward(x);
  REQUIRE((y.scalar_type() == x.scalar_type()));
  std::vector<int64_t> sizes(x.sizes().begin(), x.sizes().end());
  sizes.back() = w.size(0);
  REQUIRE(y.sizes() == at::IntArrayRef(sizes));
  const at::Tensor bd = b.defined() ? b.to(at::kDouble) : at::Tensor();
  const at::Tensor exact = activate(at::linear(x.to(at::kDouble), w.to(at::kDouble), bd), activation);
  const at::Tensor bound = error_bound(compute, x, w, b, exact, x.scalar_type() == at::kBFloat16, activation);
  const at::Tensor ratio = (y.to(at::kDouble) - exact).abs() / bound;
  const double worst = ratio.max().item<double>();
  CAPTURE(worst);
  CHECK(worst <= 1.0);
}

const char* name(FusedActivation activation) {
  switch (activation) {
    case FusedActivation::none: return "none";
    case FusedActivation::relu: return "relu";
    case FusedActivation::gelu_erf: return "gelu";
    case FusedActivation::gelu_tanh: return "gelu_tanh";
    case FusedActivation::quick_gelu: return "quick_gelu";
    case FusedActivation::silu: return "silu";
  }
  return "?";
}

}  // namespace

TEST_CASE("every compute type matches at::linear in double within its bound") {
  if (!nn::packed_linear_available()) {
    CHECK_THROWS_AS(nn::PackedLinear(torch::ones({2, 2}), {}, PackedCompute::fp32), Error);
    return;
  }
  torch::manual_seed(0);
  for (auto compute : {PackedCompute::fp32, PackedCompute::bf16, PackedCompute::int8}) {
    for (auto [in, out] : {std::pair<int64_t, int64_t>{37, 53}, {128, 96}, {300, 17}}) {
      const at::Tensor w = torch::randn({out, in}) * 0.1;
      const at::Tensor b = torch::randn({out});
      for (bool with_bias : {false, true}) {
        for (auto activation : {FusedActivation::none, FusedActivation::gelu_erf}) {
          const nn::PackedLinear layer(w, with_bias ? b : at::Tensor(), compute, activation);
          CHECK(layer.in_features() == in);
          CHECK(layer.out_features() == out);
          for (int64_t rows : {1, 2, 7, 16, 33, 128}) {
            CAPTURE(nn::packed_compute_name(compute));
            CAPTURE(in);
            CAPTURE(out);
            CAPTURE(with_bias);
            CAPTURE(name(activation));
            CAPTURE(rows);
            // Rows of very different sizes, as tokens are: per-row scales matter.
            const at::Tensor x = torch::randn({rows, in}) * torch::rand({rows, 1}) * 3;
            check_against_reference(layer, compute, x, w, with_bias ? b : at::Tensor(), activation);
          }
        }
      }
    }
  }
}

TEST_CASE("every fused activation, bf16 inputs and outputs, and leading dimensions") {
  if (!nn::packed_linear_available()) return;
  torch::manual_seed(1);
  const at::Tensor w = torch::randn({45, 64}) * 0.2;
  const at::Tensor b = torch::randn({45});
  for (auto compute : {PackedCompute::fp32, PackedCompute::bf16, PackedCompute::int8}) {
    for (auto activation : {FusedActivation::relu, FusedActivation::gelu_erf, FusedActivation::gelu_tanh,
                            FusedActivation::quick_gelu, FusedActivation::silu}) {
      CAPTURE(nn::packed_compute_name(compute));
      CAPTURE(name(activation));
      const nn::PackedLinear layer(w, b, compute, activation);
      check_against_reference(layer, compute, torch::randn({3, 7, 64}), w, b, activation);
      // bf16 in, bf16 out; the reference sees the same bf16 input.
      check_against_reference(layer, compute, torch::randn({5, 64}).to(torch::kBFloat16), w, b, activation);
    }
  }
}

TEST_CASE("weights from bf16 and fp16 tensors, non-contiguous inputs, empty inputs") {
  if (!nn::packed_linear_available()) return;
  torch::manual_seed(2);
  const at::Tensor w = torch::randn({33, 48}) * 0.1;
  for (auto dtype : {torch::kBFloat16, torch::kHalf}) {
    const at::Tensor source = w.to(dtype);
    // The reference uses the weights as the layer received them.
    const nn::PackedLinear layer(source, {}, PackedCompute::fp32);
    const at::Tensor strided = torch::randn({48, 9}).t();  // [9, 48], not contiguous
    check_against_reference(layer, PackedCompute::fp32, strided, source.to(torch::kFloat), {}, FusedActivation::none);
  }
  const nn::PackedLinear layer(w, {}, PackedCompute::int8);
  CHECK(layer.forward(torch::randn({0, 48})).sizes() == at::IntArrayRef({0, 33}));
  CHECK(layer.forward(torch::randn({2, 0, 48})).sizes() == at::IntArrayRef({2, 0, 33}));
}

TEST_CASE("the layer keeps no reference to its source tensors") {
  if (!nn::packed_linear_available()) return;
  for (auto compute : {PackedCompute::fp32, PackedCompute::bf16, PackedCompute::int8}) {
    at::Tensor w = torch::randn({16, 24});
    at::Tensor b = torch::randn({16});
    const at::Tensor x = torch::randn({4, 24});
    const nn::PackedLinear layer(w, b, compute);
    const at::Tensor before = layer.forward(x);
    CHECK(w.use_count() == 1);
    CHECK(b.use_count() == 1);
    w.zero_();
    b.zero_();
    CHECK(layer.forward(x).equal(before));
    // One copy of the weights or less: fp32 4 bytes each, bf16 2, int8 1 (plus
    // a scale per row, compensation and the bias).
    const size_t values = 16 * 24;
    const size_t per_value = compute == PackedCompute::int8 ? 1 : (compute == PackedCompute::bf16 ? 2 : 4);
    CHECK(layer.weight_bytes() >= values * per_value);
    CHECK(layer.weight_bytes() <= values * 4 + 16 * 4 * 4);
  }
}

TEST_CASE("int8 from rows quantized beforehand equals int8 from the tensor") {
  if (!nn::packed_linear_available()) return;
  torch::manual_seed(4);
  const at::Tensor w = torch::randn({20, 40}), b = torch::randn({20}), x = torch::randn({6, 40});
  const nn::PackedLinear direct(w, b, PackedCompute::int8);
  const nn::PackedLinear prepared(nn::quantize_rows_int8(w), b);
  CHECK((prepared.compute() == PackedCompute::int8));
  CHECK(direct.forward(x).equal(prepared.forward(x)));
}

TEST_CASE("bad input is refused with one line") {
  if (!nn::packed_linear_available()) return;
  const nn::PackedLinear layer(torch::randn({4, 8}), {}, PackedCompute::fp32);
  CHECK_THROWS_AS(layer.forward(torch::randn({2, 7})), Error);
  CHECK_THROWS_AS(layer.forward(torch::ones({2, 8}, torch::kLong)), Error);
  CHECK_THROWS_AS(nn::PackedLinear(torch::randn({4}), {}, PackedCompute::fp32), Error);
  CHECK_THROWS_AS(nn::PackedLinear(torch::randn({4, 8}), torch::randn({5}), PackedCompute::fp32), Error);
  CHECK_THROWS_AS(nn::PackedLinear(torch::ones({4, 8}, torch::kInt), {}, PackedCompute::fp32), Error);
}

TEST_CASE("int8 is refused with one line on a CPU without the instructions, and without oneDNN") {
  nn::CpuFeatures old_cpu;
  old_cpu.isa = "avx";
  try {
    nn::check_packed_compute(PackedCompute::int8, "caption --dtype int8", old_cpu);
    FAIL("no refusal");
  } catch (const Error& e) {
    const std::string message = e.what();
    CHECK(message.find("caption --dtype int8: int8 needs a CPU with at least AVX2") == 0);
    CHECK(message.find("avx") != std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
  }
  CHECK_NOTHROW(nn::check_packed_compute(PackedCompute::fp32, "caption", old_cpu));
  CHECK_THROWS_AS(nn::check_packed_compute(PackedCompute::fp32, "caption", nn::CpuFeatures{}), Error);
  // This machine: refused exactly when oneDNN reports no int8 kernels.
  const nn::CpuFeatures here = nn::cpu_features();
  if (here.int8)
    CHECK_NOTHROW(nn::check_packed_compute(PackedCompute::int8, "caption"));
  else
    CHECK_THROWS_AS(nn::check_packed_compute(PackedCompute::int8, "caption"), Error);
}

TEST_CASE("names of compute types and activations") {
  CHECK((nn::parse_packed_compute("int8") == PackedCompute::int8));
  CHECK(nn::packed_compute_name(nn::parse_packed_compute("bf16")) == "bf16");
  CHECK_THROWS_AS(nn::parse_packed_compute("int4"), Error);
  CHECK((nn::fused_activation("gelu", "fc1") == FusedActivation::gelu_erf));
  CHECK((nn::fused_activation("gelu_new", "fc1") == FusedActivation::gelu_tanh));
  CHECK((nn::fused_activation("quick_gelu", "fc1") == FusedActivation::quick_gelu));
  CHECK((nn::fused_activation("swish", "fc1") == FusedActivation::silu));
  CHECK_THROWS_AS(nn::fused_activation("tanh", "fc1"), Error);
}
