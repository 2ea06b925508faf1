// nn::place: the component's device and dtype from its context, with the
// defaults, the refusals a component names, and libtorch's own limits.
#include <doctest/doctest.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "core/error.h"
#include "core/nn/packed_linear.h"
#include "core/nn/placement.h"

using namespace capbench;

namespace {

ComponentContext context(const std::string& device, const std::string& dtype) {
  ComponentContext ctx;
  ctx.device = device;
  ctx.dtype = dtype;
  return ctx;
}

}  // namespace

TEST_CASE("empty device and dtype mean cpu and fp32") {
  const nn::Placement p = nn::place(context("", ""), "test");
  CHECK(p.device.is_cpu());
  CHECK((p.dtype == at::kFloat));
  CHECK((p.options().dtype() == caffe2::TypeMeta::Make<float>()));
  CHECK((nn::place(context("cpu", "bf16"), "test").dtype == at::kBFloat16));
}

TEST_CASE("unknown names, refused dtypes and fp16 on a libtorch 1 CPU are errors naming the component") {
  CHECK_THROWS_WITH_AS(nn::place(context("cpu", "int4"), "comp"), doctest::Contains("int4"), Error);
  CHECK_THROWS_WITH_AS(nn::place(context("tpu", "fp32"), "comp"), doctest::Contains("tpu"), Error);
  CHECK_THROWS_WITH_AS(nn::place(context("cpu", "bf16"), "comp", {{at::kBFloat16, "because"}}),
                       doctest::Contains("comp: bf16 is not supported: because"), Error);
#if TORCH_VERSION_MAJOR < 2
  CHECK_THROWS_WITH_AS(nn::place(context("cpu", "fp16"), "comp"), doctest::Contains("comp: fp16 on the CPU"), Error);
#else
  CHECK((nn::place(context("cpu", "fp16"), "comp").dtype == at::kHalf));
#endif
}

TEST_CASE("int8: fp32 activations on a CPU without native bf16, and refused where it cannot run") {
  if (!nn::cpu_features().int8) {
    CHECK_THROWS_WITH_AS(nn::place(context("cpu", "int8"), "comp"), doctest::Contains("comp: int8 needs"), Error);
    return;
  }
  const nn::Placement p = nn::place(context("cpu", "int8"), "comp");
  CHECK(p.int8);
  CHECK(p.device.is_cpu());
  CHECK((p.dtype == nn::int8_activation_dtype()));
  CHECK((p.dtype == (nn::cpu_features().native_bf16 ? at::kBFloat16 : at::kFloat)));
  CHECK(p.name() == "int8");
  CHECK(nn::place(context("cpu", "bf16"), "comp").name() == "bf16");
  CHECK_FALSE(nn::place(context("cpu", "fp32"), "comp").int8);
  if (torch::cuda::is_available())
    CHECK_THROWS_WITH_AS(nn::place(context("cuda", "int8"), "comp"), doctest::Contains("comp: int8 runs on the CPU only"),
                         Error);
}

TEST_CASE("an unknown dtype names the four a component takes") {
  CHECK_THROWS_WITH_AS(nn::place(context("cpu", "fp8"), "comp"), doctest::Contains("fp32, fp16, bf16 or int8"), Error);
}
