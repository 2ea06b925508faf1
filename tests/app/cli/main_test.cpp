// The command line as a user meets it: exit codes, --help, --version. Each
// command is tested end to end in its own file (cmd_NAME_test.cpp).
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
