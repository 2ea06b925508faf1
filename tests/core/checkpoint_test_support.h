#pragma once
// What the checkpoint tests add to tests/test_support.h: safetensors bytes, the
// one-line error of opening a bad checkpoint, and running the capbench binary.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "core/checkpoint.h"
#include "core/error.h"
#include "tests/test_support.h"

namespace capbench::testing {

// A safetensors file from a header text and a data area, with the length prefix.
inline std::vector<uint8_t> safetensors_bytes(const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> bytes(8);
  uint64_t length = header.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(length >> (8 * i));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

// The error message of opening `path` (with `weights`), checked to be one line.
inline std::string open_error(const std::filesystem::path& path, const std::filesystem::path& weights = {}) {
  try {
    Checkpoint::open(path, weights);
  } catch (const Error& e) {
    std::string message = e.what();
    CHECK_MESSAGE(message.find('\n') == std::string::npos, message);
    return message;
  }
  FAIL("opening " << path << " " << weights << " did not fail");
  return "";
}

// Runs `capbench ARGS`, returning its exit status and stdout (stderr joins stdout).
inline std::pair<int, std::string> run_capbench(const std::string& args) {
  const char* bin = std::getenv("CAPBENCH_BIN");
  std::string binary = bin ? bin : (binary_dir() / "capbench").string();
  REQUIRE_MESSAGE(std::filesystem::exists(binary), "build the capbench target first: " << binary);
  FILE* pipe = ::popen(("'" + binary + "' " + args + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace capbench::testing
