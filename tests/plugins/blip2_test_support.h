#pragma once
// Shared by the BLIP-2 image-side plugin tests: fixtures, the plugin registry
// (CTest points CAPBENCH_PLUGIN_PATH at the built plugins) and comparisons.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <filesystem>
#include <string>

#include "core/checkpoint.h"
#include "core/plugin_loader.h"
#include "tests/test_support.h"

namespace blip2_test {

using capbench::testing::fixture;

inline const capbench::PluginRegistry& registry() {
  static const capbench::PluginRegistry r(capbench::PluginRegistry::search_path({}));
  return r;
}

template <class Interface>
std::shared_ptr<Interface> make(const std::string& plugin, const std::string& folder, const std::string& dtype = "fp32",
                                const std::string& device = "cpu") {
  capbench::ComponentContext ctx{fixture(folder), device, dtype, capbench::Settings()};
  return registry().create<Interface>(plugin, ctx);
}

inline torch::Tensor reference(const std::string& folder, const std::string& name) {
  return capbench::Checkpoint::open(fixture(folder) / "references.safetensors").view(name);
}

// Every fixture's references were computed from blip2-opt-tiny's pixel values.
inline torch::Tensor pixel_values() { return reference("blip2-opt-tiny", "pixel_values"); }

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return a.to(torch::kCPU, torch::kFloat).sub(b.to(torch::kCPU, torch::kFloat)).abs().max().item<double>();
}

// ||got - expected|| / ||expected|| (Frobenius norms), in double precision.
inline double relative_error(const torch::Tensor& got, const torch::Tensor& expected) {
  REQUIRE(got.sizes() == expected.sizes());
  const torch::Tensor e = expected.to(torch::kCPU, torch::kDouble);
  return (got.to(torch::kCPU, torch::kDouble) - e).norm().item<double>() / e.norm().item<double>();
}

// A bound on the relative error of a bf16 forward pass whose path rounds its
// activations to bf16 `roundings` times: each rounding adds a relative error
// of at most u = 2^-8 (8 significant bits), and the errors add at most
// linearly. The kernels (oneDNN with AVX512_BF16, or libtorch's fallback on
// AVX2) differ in how they accumulate, which this bound covers; a wrong
// layer or weight gives errors of order 1.
inline double bf16_relative_bound(int roundings) { return roundings * 0x1p-8; }

#define CHECK_CLOSE(got, expected, tolerance)                     \
  do {                                                           \
    const double diff_ = blip2_test::max_abs_diff(got, expected); \
    CHECK_MESSAGE(diff_ <= (tolerance), "max abs diff " << diff_); \
  } while (0)

}  // namespace blip2_test
