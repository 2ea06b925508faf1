// The command line as a user meets it: exit codes, --help, --version, plugins.
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/wait.h>

namespace {

struct Result {
  int status;
  std::string output;  // stdout and stderr together
};

Result capbench(const std::string& args) {
  const char* bin = std::getenv("CAPBENCH_BIN");
  REQUIRE_MESSAGE(bin != nullptr, "CAPBENCH_BIN is set by CTest");
  std::string command = std::string(bin) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  std::array<char, 4096> buffer{};
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const std::string kTestPlugins = std::string(CAPBENCH_BINARY_DIR) + "/test-plugins/";

}  // namespace

TEST_CASE("no arguments is a usage error; --help and --version succeed") {
  CHECK(capbench("").status == 2);
  Result help = capbench("--help");
  CHECK(help.status == 0);
  for (const char* command : {"run", "plan", "leaderboard", "merge", "caption", "embed", "score", "submit", "tokenize",
                              "inspect", "plugins"})
    CHECK_MESSAGE(contains(help.output, std::string("  ") + command + " "), command);
  Result version = capbench("--version");
  CHECK(version.status == 0);
  CHECK(contains(version.output, "capbench "));
}

TEST_CASE("an unknown command or option is a usage error with the usage line") {
  Result unknown = capbench("frobnicate");
  CHECK(unknown.status == 2);
  CHECK(contains(unknown.output, "unknown command 'frobnicate'"));
  Result bad_option = capbench("plugins --no-such-option");
  CHECK(bad_option.status == 2);
  CHECK(contains(bad_option.output, "usage: capbench plugins"));
}

TEST_CASE("every command has a --help that exits 0 and shows its usage") {
  for (const char* command : {"run", "plan", "leaderboard", "merge", "caption", "encode", "embed", "score", "submit",
                              "tokenize", "inspect", "plugins"}) {
    Result r = capbench(std::string(command) + " --help");
    CHECK_MESSAGE(r.status == 0, command);
    CHECK_MESSAGE(contains(r.output, std::string("usage: capbench ") + command), command);
  }
}

TEST_CASE("plugins lists a good plugin and refuses bad ones with exit 1") {
  Result good = capbench("plugins --plugins " + kTestPlugins + "good");
  CHECK(good.status == 0);
  CHECK(contains(good.output, "echo"));
  CHECK(contains(good.output, "encoder"));

  Result json = capbench("plugins --json --plugins " + kTestPlugins + "good");
  CHECK(json.status == 0);
  CHECK(contains(json.output, "\"name\": \"echo\""));

  Result wrong_abi = capbench("plugins --plugins " + kTestPlugins + "wrong-abi");
  CHECK(wrong_abi.status == 1);
  CHECK(contains(wrong_abi.output, "wrong-abi.so: plugin ABI version"));

  Result not_plugin = capbench("plugins --plugins " + kTestPlugins + "not-a-plugin");
  CHECK(not_plugin.status == 1);
  CHECK(contains(not_plugin.output, "not a capbench plugin"));

  Result duplicate = capbench("plugins --plugins " + kTestPlugins + "good --plugins " + kTestPlugins + "duplicate");
  CHECK(duplicate.status == 1);
  CHECK(contains(duplicate.output, "two plugins are named 'echo'"));
}

TEST_CASE("without --plugins or CAPBENCH_PLUGIN_PATH, plugins/ beside the binary is searched") {
  unsetenv("CAPBENCH_PLUGIN_PATH");
  Result r = capbench("plugins");
  CHECK(r.status == 0);
  CHECK(!contains(r.output, "error"));
}
