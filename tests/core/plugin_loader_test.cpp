#include "core/plugin_loader.h"

#include <doctest/doctest.h>
#include <toml++/toml.h>
#include <torch/torch.h>

#include "core/error.h"
#include "tests/test_support.h"

using capbench::PluginRegistry;
namespace fs = std::filesystem;

namespace {
fs::path fixture_dir(const std::string& name) { return capbench::testing::binary_dir() / "test-plugins" / name; }
std::string problems_of(const PluginRegistry& r) {
  std::string all;
  for (const auto& p : r.problems()) all += p + "\n";
  return all;
}
}  // namespace

TEST_CASE("a good plugin is found, described and creates a working component") {
  PluginRegistry registry({fixture_dir("good")});
  REQUIRE(registry.problems().empty());
  REQUIRE(registry.plugins().size() == 1);
  const auto& p = registry.plugins()[0];
  CHECK(p.name == "echo");
  CHECK(p.kind == "encoder");
  CHECK(p.abi_version == capbench::kPluginAbiVersion);
  CHECK(p.torch_version == TORCH_VERSION);

  capbench::ComponentContext ctx;
  auto encoder = registry.create<capbench::ImageEncoder>("echo", ctx);
  auto out = encoder->encode(torch::ones({2, 3, 4, 4}));
  CHECK(out.last_hidden_state.sizes() == torch::IntArrayRef({2, 16, 3}));
}

TEST_CASE("the component outlives the registry that made it") {
  std::shared_ptr<capbench::ImageEncoder> encoder;
  {
    PluginRegistry registry({fixture_dir("good")});
    capbench::ComponentContext ctx;
    encoder = registry.create<capbench::ImageEncoder>("echo", ctx);
  }
  CHECK(encoder->encode(torch::zeros({1, 3, 2, 2})).last_hidden_state.size(1) == 4);
}

TEST_CASE("unknown settings keys are refused, naming the key") {
  PluginRegistry registry({fixture_dir("good")});
  toml::table table{{"scale", 2}, {"scael", 3}};
  capbench::ComponentContext ctx{"", "cpu", "fp32", capbench::Settings(table, "[encoder]")};
  CHECK_THROWS_WITH_AS(registry.create<capbench::ImageEncoder>("echo", ctx),
                       doctest::Contains("unknown key 'scael'"), capbench::Error);
}

TEST_CASE("asking for a missing plugin or the wrong kind names what exists") {
  PluginRegistry registry({fixture_dir("good")});
  capbench::ComponentContext ctx;
  CHECK_THROWS_WITH_AS(registry.create<capbench::ImageEncoder>("vit", ctx), doctest::Contains("found: echo"),
                       capbench::Error);
  CHECK_THROWS_WITH_AS(registry.create<capbench::TextDecoder>("echo", ctx),
                       doctest::Contains("is a encoder, not a decoder"), capbench::Error);
}

TEST_CASE("a plugin of another ABI version is refused with both versions and the file") {
  PluginRegistry registry({fixture_dir("wrong-abi")});
  CHECK(registry.plugins().empty());
  std::string problems = problems_of(registry);
  CHECK(problems.find("wrong-abi.so") != std::string::npos);
  CHECK(problems.find("ABI version " + std::to_string(capbench::kPluginAbiVersion + 41)) != std::string::npos);
  CHECK(problems.find("needs ABI version " + std::to_string(capbench::kPluginAbiVersion)) != std::string::npos);
  CHECK_THROWS_AS(registry.require_no_problems(), capbench::Error);
}

TEST_CASE("a shared library that is not a plugin is refused by name") {
  PluginRegistry registry({fixture_dir("not-a-plugin")});
  CHECK(registry.plugins().empty());
  std::string problems = problems_of(registry);
  CHECK(problems.find("not-a-plugin.so: not a capbench plugin") != std::string::npos);
}

TEST_CASE("two plugins with one name are an error naming both files") {
  PluginRegistry registry({fixture_dir("good"), fixture_dir("duplicate")});
  std::string problems = problems_of(registry);
  CHECK(problems.find("two plugins are named 'echo'") != std::string::npos);
  CHECK(problems.find("good-encoder.so") != std::string::npos);
  CHECK(problems.find("good-encoder-again.so") != std::string::npos);
}

TEST_CASE("a missing plugin directory is reported") {
  PluginRegistry registry({fixture_dir("no-such-dir")});
  CHECK(problems_of(registry).find("does not exist") != std::string::npos);
}

TEST_CASE("the search path: --plugins, else $CAPBENCH_PLUGIN_PATH, else plugins/ beside the binary") {
  const char* saved = std::getenv("CAPBENCH_PLUGIN_PATH");
  const std::string restore = saved ? saved : "";
  setenv("CAPBENCH_PLUGIN_PATH", "/env/a::/env/b", 1);
  CHECK(PluginRegistry::search_path({"/cli"}) == std::vector<fs::path>{"/cli"});
  CHECK(PluginRegistry::search_path({}) == std::vector<fs::path>{"/env/a", "/env/b"});
  unsetenv("CAPBENCH_PLUGIN_PATH");
  const std::vector<fs::path> fallback = PluginRegistry::search_path({});
  REQUIRE(fallback.size() == 1);
  CHECK(fallback[0].filename() == "plugins");
  if (saved) setenv("CAPBENCH_PLUGIN_PATH", restore.c_str(), 1);
}
