// The README's example plugin (tests/plugin_example/linear_bridge.cpp) builds
// against the SDK, loads through the plugin registry and computes its layer.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include "core/plugin_loader.h"
#include "core/safetensors.h"
#include "tests/test_support.h"

using namespace capbench;

TEST_CASE("the example plugin loads, is a bridge of this ABI, and projects with its checkpoint's weights") {
  const PluginRegistry registry({testing::binary_dir() / "test-plugins" / "example"});
  REQUIRE(registry.problems().empty());
  const PluginRecord& record = registry.find("linear-bridge", "bridge");
  CHECK(record.abi_version == kPluginAbiVersion);

  testing::TempDir model;
  torch::manual_seed(0);
  const at::Tensor weight = torch::randn({6, 4}), bias = torch::randn({6});
  write_safetensors(model / "model.safetensors", {{"projection.weight", weight}, {"projection.bias", bias}});
  ComponentContext ctx{model.path(), "cpu", "fp32", Settings()};
  auto bridge = registry.create<Bridge>("linear-bridge", ctx);

  const at::Tensor features = torch::randn({2, 3, 4});
  const Bridge::Output out = bridge->bridge(features, false);
  CHECK(out.soft_prompt.sizes() == at::IntArrayRef({2, 3, 6}));
  CHECK(torch::allclose(out.soft_prompt, at::linear(features, weight, bias), 1e-6, 1e-6));
}
