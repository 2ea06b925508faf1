// The per-row symmetric int8 quantizer: a case computed by hand, then the
// properties every row must have, across blocks of rows and source dtypes.
#include "core/nn/quantize_int8.h"

#include <doctest/doctest.h>
#include <torch/torch.h>

#include "core/error.h"

using namespace capbench;

TEST_CASE("quantize_rows_int8 on a hand-computed matrix") {
  // Row 0: max 127, scale 1; 63.5 and 62.5 are ties and go to the even integer,
  // -0.5 to 0. Row 1: max 1.27, scale 0.01: 0.5 -> 50, -1.27 -> -127, 1 -> 100,
  // 0.25 -> 25. Row 2: zeros, scale 0.
  const at::Tensor matrix = torch::tensor({127.f, 63.5f, -0.5f, 1.f, 62.5f,  //
                                           0.5f, -1.27f, 0.f, 1.f, 0.25f,    //
                                           0.f, 0.f, 0.f, 0.f, 0.f})
                                .view({3, 5});
  for (auto dtype : {torch::kFloat, torch::kBFloat16}) {
    if (dtype == torch::kBFloat16) {
      // bf16 holds row 0 exactly; row 1 would round, so compare row 0 only.
      const nn::Int8Rows q = nn::quantize_rows_int8(matrix.slice(0, 0, 1).to(dtype));
      CHECK(q.values.equal(torch::tensor({127, 64, 0, 1, 62}, torch::kChar).view({1, 5})));
      CHECK(q.scales.item<float>() == 1.f);
      continue;
    }
    const nn::Int8Rows q = nn::quantize_rows_int8(matrix);
    CHECK((q.values.scalar_type() == torch::kChar));
    CHECK(q.values.equal(
        torch::tensor({127, 64, 0, 1, 62, 50, -127, 0, 100, 25, 0, 0, 0, 0, 0}, torch::kChar).view({3, 5})));
    CHECK(q.scales[0].item<float>() == 1.f);
    CHECK(q.scales[1].item<float>() == doctest::Approx(0.01).epsilon(1e-6));
    CHECK(q.scales[2].item<float>() == 0.f);
    CHECK(nn::dequantize_rows_int8(q)[2].abs().sum().item<float>() == 0.f);
  }
}

TEST_CASE("every row is within half a step of its values, across blocks, strides and dtypes") {
  torch::manual_seed(3);
  // 150 rows span three blocks of the quantizer; the transpose is not contiguous.
  const at::Tensor matrix = (torch::randn({40, 150}) * torch::rand({1, 150}) * 4).t();
  for (auto dtype : {torch::kFloat, torch::kBFloat16, torch::kHalf}) {
    CAPTURE(dtype);
    const at::Tensor source = matrix.to(dtype);
    const nn::Int8Rows q = nn::quantize_rows_int8(source);
    const at::Tensor exact = source.to(torch::kFloat);
    const at::Tensor largest = exact.abs().amax({1});
    CHECK(torch::allclose(q.scales, largest / 127, 0, 0));
    CHECK(q.values.abs().amax().item<int>() == 127);
    // |m - q s| <= s/2, plus fp32 rounding of the division and the product.
    const at::Tensor error = (exact - nn::dequantize_rows_int8(q)).abs();
    CHECK((error <= q.scales.unsqueeze(1) * (0.5 + 1e-5)).all().item<bool>());
  }
}

TEST_CASE("quantize_rows_int8 refuses what is not a 2-d floating-point CPU matrix") {
  CHECK_THROWS_AS(nn::quantize_rows_int8(torch::ones({4})), Error);
  CHECK_THROWS_AS(nn::quantize_rows_int8(torch::ones({2, 2}, torch::kInt)), Error);
}
