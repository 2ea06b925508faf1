// Additive masks: torch.finfo(dtype).min from c10's limits for every dtype.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/nn/masks.h"

using namespace capbench;

TEST_CASE("lowest is torch.finfo(dtype).min") {
  CHECK(nn::lowest(at::kFloat) == -3.4028234663852886e38);
  CHECK(nn::lowest(at::kHalf) == -65504.0);
  CHECK(nn::lowest(at::kBFloat16) == -3.3895313892515355e38);
  CHECK(nn::lowest(at::kDouble) == std::numeric_limits<double>::lowest());
  CHECK_THROWS_AS(nn::lowest(at::kLong), Error);
}

TEST_CASE("additive_mask: 0 where kept, the dtype's lowest where masked, in that dtype") {
  const at::Tensor keep = torch::tensor({{1, 0, 1}}, torch::kLong);
  for (at::ScalarType dtype : {at::kFloat, at::kHalf, at::kBFloat16}) {
    CAPTURE(dtype);
    const at::Tensor mask = nn::additive_mask(keep, dtype);
    CHECK((mask.scalar_type() == dtype));
    CHECK(mask.sizes() == keep.sizes());
    CHECK(mask[0][0].item<double>() == 0.0);
    CHECK(mask[0][1].item<double>() == nn::lowest(dtype));
    CHECK(std::isfinite(mask[0][1].item<double>()));
  }
  CHECK(torch::equal(nn::additive_mask(keep.to(at::kBool), at::kFloat), nn::additive_mask(keep, at::kFloat)));
}

TEST_CASE("key_padding_bias is [B,1,1,T]; causal_keep is key <= query") {
  const at::Tensor bias = nn::key_padding_bias(torch::tensor({{1, 1, 0}, {1, 0, 0}}, torch::kLong), at::kFloat);
  CHECK(bias.sizes() == at::IntArrayRef({2, 1, 1, 3}));
  CHECK(bias[1][0][0][1].item<float>() == std::numeric_limits<float>::lowest());
  const at::Tensor causal = nn::causal_keep(3, c10::Device(c10::kCPU));
  CHECK(torch::equal(causal, torch::tensor({{1, 0, 0}, {1, 1, 0}, {1, 1, 1}}).to(at::kBool)));
}
