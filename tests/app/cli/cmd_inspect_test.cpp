// `capbench inspect` end to end: every tensor of a fixture checkpoint (single
// file, and shards with an index) with the dtype, shape and file its
// safetensors header gives, the totals, and the model types of config.json.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "core/json_file.h"
#include "tests/app/cli/cli_test_support.h"

using namespace capbench;
using namespace capbench::testing;

namespace {

struct HeaderTensor {
  std::string dtype, file;
  std::vector<int64_t> shape;
};

// The tensors of a safetensors file, read from its header here (8 bytes of
// little-endian length, then JSON), independently of capbench's reader.
std::map<std::string, HeaderTensor> header_tensors(const std::filesystem::path& file) {
  const std::vector<uint8_t> bytes = read_bytes(file);
  REQUIRE(bytes.size() >= 8);
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | bytes[static_cast<size_t>(i)];
  const nlohmann::json header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(length));
  std::map<std::string, HeaderTensor> out;
  for (const auto& [name, info] : header.items())
    if (name != "__metadata__")
      out[name] = {info["dtype"], file.filename().string(), info["shape"].get<std::vector<int64_t>>()};
  return out;
}

std::map<std::string, HeaderTensor> checkpoint_tensors(const std::filesystem::path& folder) {
  if (!std::filesystem::exists(folder / "model.safetensors.index.json")) return header_tensors(folder / "model.safetensors");
  std::set<std::string> shards;
  const nlohmann::json index = read_json_file(folder / "model.safetensors.index.json");
  for (const auto& [name, file] : index["weight_map"].items()) shards.insert(file.get<std::string>());
  std::map<std::string, HeaderTensor> out;
  for (const std::string& shard : shards) out.merge(header_tensors(folder / shard));
  return out;
}

int64_t elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

void check_json(const std::string& folder, const std::string& text_type) {
  CAPTURE(folder);
  const std::map<std::string, HeaderTensor> expected = checkpoint_tensors(fixture(folder));
  const CliResult r = capbench_cli({"inspect", fixture(folder).string(), "--json"});
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  const nlohmann::json out = r.json();
  CHECK(keys_of(out) == std::set<std::string>{"checkpoint", "model_type", "text_model_type", "tensors", "totals"});
  CHECK(out["model_type"] == "blip-2");
  CHECK(out["text_model_type"] == text_type);
  REQUIRE(out["tensors"].size() == expected.size());
  int64_t parameters = 0;
  std::map<std::string, int64_t> bytes;
  for (const auto& row : out["tensors"]) {
    const std::string name = row["name"];
    CAPTURE(name);
    REQUIRE(expected.count(name));
    const HeaderTensor& want = expected.at(name);
    CHECK(row.size() == 4);
    CHECK(row["dtype"] == want.dtype);
    CHECK(row["shape"].get<std::vector<int64_t>>() == want.shape);
    CHECK(row["file"] == want.file);
    parameters += elements(want.shape);
    bytes[want.dtype] += elements(want.shape) * (want.dtype == "F32" ? 4 : 2);
  }
  CHECK(out["totals"]["tensors"] == expected.size());
  CHECK(out["totals"]["parameters"] == parameters);
  CHECK(out["totals"]["bytes"].get<std::map<std::string, int64_t>>() == bytes);
}

}  // namespace

TEST_CASE("inspect --json: every tensor of a single-file checkpoint as its header says") {
  check_json("blip2-opt-tiny", "opt");
  check_json("blip2-opt-tiny-fp16", "opt");
}

TEST_CASE("inspect --json: a sharded checkpoint names each tensor's shard") {
  check_json("blip2-t5-tiny", "t5");
  check_json("blip2-opt-tiny-sharded", "opt");
}

TEST_CASE("inspect: the table has a header, one line per tensor and the totals") {
  const std::map<std::string, HeaderTensor> expected = checkpoint_tensors(fixture("blip2-opt-tiny"));
  const CliResult r = capbench_cli({"inspect", fixture("blip2-opt-tiny").string()});
  REQUIRE(r.status == 0);
  std::vector<std::string> lines;
  for (size_t begin = 0, end; begin < r.out.size(); begin = end + 1) {
    end = r.out.find('\n', begin);
    lines.push_back(r.out.substr(begin, end - begin));
  }
  REQUIRE(lines.size() == expected.size() + 4);
  CHECK(lines[0].rfind("NAME", 0) == 0);
  CHECK(lines[0].find("DTYPE") != std::string::npos);
  for (size_t i = 1; i <= expected.size(); ++i) CHECK(expected.count(lines[i].substr(0, lines[i].find(' '))));
  CHECK(lines[expected.size() + 1].empty());
  CHECK(lines[expected.size() + 2].rfind(std::to_string(expected.size()) + " tensors, ", 0) == 0);
  CHECK(lines[expected.size() + 3] == "model type: blip-2 (text model: opt)");
}

TEST_CASE("inspect: a missing or damaged checkpoint ends with one line") {
  TempDir dir;
  check_one_line_error(capbench_cli({"inspect", (dir / "none").string()}), (dir / "none").string());
  write_text(dir / "bad.safetensors", "not a safetensors file");
  check_one_line_error(capbench_cli({"inspect", (dir / "bad.safetensors").string()}), (dir / "bad.safetensors").string());
  check_usage_error(capbench_cli({"inspect"}), "inspect", "checkpoint");
}
