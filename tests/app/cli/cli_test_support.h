#pragma once
// Running the built `capbench` binary as a user does (CTest sets CAPBENCH_BIN and
// CAPBENCH_PLUGIN_PATH): arguments without a shell, stdout and stderr kept
// apart, the exit code or the signal that ended it.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tests/test_support.h"

extern char** environ;

namespace capbench::testing {

struct CliResult {
  int status = -1;  // exit code; -1 when a signal ended the process
  int signal = 0;   // the signal that ended it, else 0
  std::string out, err;
  nlohmann::json json() const { return parsed<nlohmann::json>(); }
  nlohmann::ordered_json ordered_json() const { return parsed<nlohmann::ordered_json>(); }  // keys in output order
  template <class Json>
  Json parsed() const {
    try {
      return Json::parse(out);
    } catch (const nlohmann::json::exception& e) {
      FAIL("stdout is not JSON (" << e.what() << "):\n" << out);
      return nullptr;
    }
  }
  // stderr without a trailing newline: what a user reads when a command fails.
  std::string error_line() const { return err.substr(0, err.find_last_not_of('\n') + 1); }
};

struct CliOptions {
  std::map<std::string, std::optional<std::string>> env;  // set (value) or unset (nullopt) for the child
  std::string stdin_text;                                  // given on standard input
  std::vector<std::string> wrapper;                        // a program (found on PATH) that runs capbench, e.g. prlimit
};

// A started `capbench` process: wait() collects it.
class CliProcess {
 public:
  CliProcess(const std::vector<std::string>& args, const CliOptions& options = {}) {
    const char* bin = std::getenv("CAPBENCH_BIN");
    REQUIRE_MESSAGE(bin != nullptr, "CAPBENCH_BIN is set by CTest");
    write_text(dir_ / "stdin", options.stdin_text);
    std::vector<std::string> argv_text = options.wrapper;
    argv_text.push_back(bin);
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);

    // One OpenMP thread unless asked: CTest runs two tests at a time on two cores,
    // and idle OpenMP threads spin (a tiny model's caption takes 3x longer).
    std::map<std::string, std::optional<std::string>> env = {{"OMP_NUM_THREADS", "1"}};
    for (const auto& [key, value] : options.env) env[key] = value;
    std::vector<std::string> env_text;
    for (char** e = environ; *e; ++e) {
      std::string entry = *e;
      if (!env.count(entry.substr(0, entry.find('=')))) env_text.push_back(entry);
    }
    for (const auto& [key, value] : env)
      if (value) env_text.push_back(key + "=" + *value);
    std::vector<char*> envp;
    for (std::string& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    const std::string in = (dir_ / "stdin").string(), out = (dir_ / "stdout").string(), err = (dir_ / "stderr").string();
    posix_spawn_file_actions_addopen(&files, 0, in.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&files, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&files, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int spawned = posix_spawnp(&pid_, argv_text[0].c_str(), &files, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&files);
    REQUIRE_MESSAGE(spawned == 0, "cannot start " << argv_text[0] << ": " << std::strerror(spawned));
  }
  ~CliProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;

  pid_t pid() const { return pid_; }
  // True once the process has ended (then wait() returns at once).
  bool ended() {
    if (pid_ <= 0) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
    finish(status);
    return true;
  }
  CliResult wait() {
    if (pid_ > 0) {
      int status = 0;
      REQUIRE(waitpid(pid_, &status, 0) == pid_);
      finish(status);
    }
    return result_;
  }

 private:
  void finish(int status) {
    pid_ = 0;
    result_.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result_.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    result_.out = read_text(dir_ / "stdout");
    result_.err = read_text(dir_ / "stderr");
  }
  TempDir dir_;
  pid_t pid_ = 0;
  CliResult result_;
};

// The keys of a JSON object: what a test compares to the documented shape.
inline std::set<std::string> keys_of(const nlohmann::json& object) {
  std::set<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.insert(key);
  return keys;
}

inline CliResult capbench_cli(const std::vector<std::string>& args, const CliOptions& options = {}) {
  return CliProcess(args, options).wait();
}

// `capbench ARGS -- TEXTS...` (texts after "--", so that one starting with '-' stays
// a text), which must succeed with a JSON array of one item per text.
inline nlohmann::json json_per_text(std::vector<std::string> args, const std::vector<std::string>& texts) {
  args.push_back("--");
  args.insert(args.end(), texts.begin(), texts.end());
  const CliResult r = capbench_cli(args);
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  nlohmann::json out = r.json();
  REQUIRE(out.is_array());
  REQUIRE(out.size() == texts.size());
  return out;
}

// What a failing command prints: one line "capbench: error: ..." (exit 1) or
// "capbench COMMAND: ..." plus the usage line (exit 2).
inline void check_one_line_error(const CliResult& r, const std::string& expected_part) {
  CAPTURE(r.err);
  CHECK(r.status == 1);
  CHECK(r.out.empty());
  CHECK(r.err.rfind("capbench: error: ", 0) == 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.find(expected_part) != std::string::npos);
}

// A command that reports progress before it fails (run): its last line is the
// one "capbench: error: ..." line, and it exits 1.
inline void check_last_line_error(const CliResult& r, const std::string& expected_part) {
  CAPTURE(r.err);
  CHECK(r.status == 1);
  CHECK(r.out.empty());
  const std::string text = r.error_line();
  const std::string last = text.substr(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
  CHECK(last.rfind("capbench: error: ", 0) == 0);
  CHECK(last.find(expected_part) != std::string::npos);
  size_t errors = 0;
  for (size_t at = r.err.find("capbench: error: "); at != std::string::npos; at = r.err.find("capbench: error: ", at + 1))
    ++errors;
  CHECK(errors == 1);
}

inline void check_usage_error(const CliResult& r, const std::string& command, const std::string& expected_part) {
  CAPTURE(r.err);
  CHECK(r.status == 2);
  CHECK(r.out.empty());
  CHECK(r.err.rfind("capbench " + command + ": ", 0) == 0);
  CHECK(r.err.find(expected_part) != std::string::npos);
  CHECK(r.err.find("\nusage: capbench " + command) != std::string::npos);
}

}  // namespace capbench::testing
