// The plugin SDK (core/CMakeLists.txt, CAPBENCH_SDK_HEADERS) is what plugins
// may include of capbench: every include of a plugin's sources is its own
// folder, the SDK, or a system header, and the SDK's headers include only each
// other.
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <set>
#include <string>

#include "tests/test_support.h"

namespace fs = std::filesystem;
using capbench::testing::binary_dir;
using capbench::testing::source_dir;

namespace {

std::set<std::string> sdk_headers() {
  std::ifstream in(binary_dir() / "plugin_sdk_headers.txt");
  std::set<std::string> headers;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) headers.insert(line);
  return headers;
}

// The quoted includes of `file`.
std::vector<std::string> project_includes(const fs::path& file) {
  static const std::regex include(R"(^\s*#\s*include\s+"([^"]+)\")");
  std::ifstream in(file);
  std::vector<std::string> found;
  std::smatch match;
  for (std::string line; std::getline(in, line);)
    if (std::regex_search(line, match, include)) found.push_back(match[1]);
  return found;
}

bool is_source(const fs::path& file) { return file.extension() == ".cpp" || file.extension() == ".h"; }

// A test beside a plugin (tests/plugin_example) is host code, not the plugin's.
bool is_test(const fs::path& file) {
  const std::string name = file.filename().string();
  return name.size() > 9 && name.compare(name.size() - 9, 9, "_test.cpp") == 0;
}

}  // namespace

TEST_CASE("the SDK list exists and names existing headers") {
  const auto sdk = sdk_headers();
  REQUIRE(sdk.count("core/plugin_api.h"));
  for (const std::string& header : sdk) CHECK_MESSAGE(fs::exists(source_dir() / header), header);
}

TEST_CASE("the SDK's headers include only SDK headers") {
  const auto sdk = sdk_headers();
  for (const std::string& header : sdk)
    for (const std::string& included : project_includes(source_dir() / header))
      CHECK_MESSAGE(sdk.count(included), header << " includes " << included << ", which is not in the SDK");
}

TEST_CASE("plugins include nothing of capbench outside the SDK") {
  const auto sdk = sdk_headers();
  int files = 0;
  for (const fs::path& root : {source_dir() / "plugins", source_dir() / "tests/plugin_example",
                              source_dir() / "tests/core/plugin_loader_fixtures"}) {
    if (!fs::exists(root)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      if (!entry.is_regular_file() || !is_source(entry.path()) || is_test(entry.path())) continue;
      ++files;
      // A plugin's own folder, e.g. "plugins/opt/".
      const std::string own = fs::relative(entry.path().parent_path(), source_dir()).string() + "/";
      for (const std::string& included : project_includes(entry.path())) {
        const bool allowed = sdk.count(included) || included.rfind(own, 0) == 0;
        CHECK_MESSAGE(allowed, entry.path().string() << " includes " << included
                                                     << " (neither its own folder nor the plugin SDK)");
      }
    }
  }
  CHECK(files > 10);
}
