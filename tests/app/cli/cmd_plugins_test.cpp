// `capbench plugins` end to end: the five plugins the build makes, by name,
// kind, ABI and libtorch version, found through CAPBENCH_PLUGIN_PATH and,
// without it, in plugins/ beside the binary; bad plugin folders are refused.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <map>
#include <set>
#include <sstream>

#include "core/plugin_api.h"
#include "tests/app/cli/cli_test_support.h"

using namespace capbench::testing;

namespace {

const std::map<std::string, std::string> kBuiltPlugins = {
    {"blip2-vision", "encoder"}, {"qformer", "bridge"}, {"opt", "decoder"}, {"t5", "decoder"}, {"minilm", "embedder"}};

const std::string kTestPlugins = (binary_dir() / "test-plugins").string() + "/";

// Plugin name -> kind from the table form (NAME KIND ABI LIBTORCH DESCRIPTION, then the file on its own line).
std::map<std::string, std::string> table_plugins(const std::string& out) {
  std::istringstream in(out);
  std::string header;
  std::getline(in, header);
  CHECK(header.rfind("NAME", 0) == 0);
  std::map<std::string, std::string> found;
  for (std::string line, file; std::getline(in, line) && std::getline(in, file);) {
    std::istringstream fields(line);
    std::string name, kind, abi, torch_version;
    fields >> name >> kind >> abi >> torch_version;
    found[name] = kind;
    CHECK(abi == std::to_string(capbench::kPluginAbiVersion));
    CHECK(torch_version == TORCH_VERSION);
    CHECK(file.find_first_not_of(' ') == 39);
    CHECK(std::filesystem::exists(file.substr(39)));
  }
  return found;
}

}  // namespace

TEST_CASE("plugins --json: the five plugins of the build, each with its kind, ABI, libtorch version and file") {
  const CliResult r = capbench_cli({"plugins", "--json"});
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.err.empty());
  std::map<std::string, std::string> found;
  for (const auto& p : r.json()) {
    CHECK(keys_of(p) == std::set<std::string>{"name", "kind", "abi_version", "torch_version", "description", "file"});
    found[p["name"]] = p["kind"];
    CHECK(p["abi_version"] == capbench::kPluginAbiVersion);
    CHECK(p["torch_version"] == TORCH_VERSION);
    CHECK_FALSE(p["description"].get<std::string>().empty());
    CHECK(std::filesystem::path(p["file"].get<std::string>()).parent_path() == binary_dir() / "plugins");
  }
  CHECK(found == kBuiltPlugins);
}

TEST_CASE("plugins: without --plugins or CAPBENCH_PLUGIN_PATH, plugins/ beside the binary is searched") {
  CliOptions options;
  options.env["CAPBENCH_PLUGIN_PATH"] = std::nullopt;
  const CliResult r = capbench_cli({"plugins"}, options);
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  CHECK(table_plugins(r.out) == kBuiltPlugins);
}

TEST_CASE("plugins: an empty plugin folder lists nothing") {
  TempDir empty;
  const CliResult r = capbench_cli({"plugins", "--json", "--plugins", empty.path().string()});
  REQUIRE(r.status == 0);
  CHECK(r.json() == nlohmann::json::array());
}

TEST_CASE("plugins lists a good plugin and refuses bad ones with exit 1") {
  const CliResult good = capbench_cli({"plugins", "--plugins", kTestPlugins + "good"});
  CHECK(good.status == 0);
  CHECK(table_plugins(good.out) == std::map<std::string, std::string>{{"echo", "encoder"}});

  const CliResult wrong_abi = capbench_cli({"plugins", "--plugins", kTestPlugins + "wrong-abi"});
  CHECK(wrong_abi.status == 1);
  CHECK(wrong_abi.err.find("wrong-abi.so: plugin ABI version") != std::string::npos);

  const CliResult not_plugin = capbench_cli({"plugins", "--plugins", kTestPlugins + "not-a-plugin"});
  CHECK(not_plugin.status == 1);
  CHECK(not_plugin.err.find("not a capbench plugin") != std::string::npos);

  const CliResult duplicate =
      capbench_cli({"plugins", "--plugins", kTestPlugins + "good", "--plugins", kTestPlugins + "duplicate"});
  CHECK(duplicate.status == 1);
  CHECK(duplicate.err.find("two plugins are named 'echo'") != std::string::npos);
}
