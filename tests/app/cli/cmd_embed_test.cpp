// `capbench embed` end to end: the sentence embeddings of all-MiniLM-L6-v2's
// layout (tests/fixtures/minilm-tiny) for every reference sentence, as JSON and
// as plain lines, equal sentence-transformers' within 1e-5.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <set>
#include <sstream>

#include "core/checkpoint.h"
#include "core/json_file.h"
#include "tests/app/cli/cli_test_support.h"

using namespace capbench;
using namespace capbench::testing;

namespace {

std::vector<std::string> sentences() {
  return read_json_file(fixture("minilm-tiny/references.json"))["sentences"].get<std::vector<std::string>>();
}

at::Tensor reference_embeddings() { return Checkpoint::open(fixture("minilm-tiny/references.safetensors")).view("embeddings"); }

double max_abs_diff(const std::vector<float>& got, const at::Tensor& expected) {
  REQUIRE(static_cast<int64_t>(got.size()) == expected.numel());
  return (torch::tensor(got) - expected).abs().max().item<double>();
}

}  // namespace

TEST_CASE("embed --json: every reference sentence, in input order, equals sentence-transformers' embedding") {
  const std::vector<std::string> texts = sentences();
  const nlohmann::json out =
      json_per_text({"embed", "--model", fixture("minilm-tiny").string(), "--device", "cpu", "--json"}, texts);
  const at::Tensor expected = reference_embeddings();
  for (size_t i = 0; i < texts.size(); ++i) {
    CAPTURE(i);
    CHECK(keys_of(out[i]) == std::set<std::string>{"text", "embedding"});
    CHECK(out[i]["text"] == texts[i]);
    CHECK(max_abs_diff(out[i]["embedding"].get<std::vector<float>>(), expected[static_cast<int64_t>(i)]) < 1e-5);
  }
}

TEST_CASE("embed: texts from standard input give one line of numbers each") {
  std::vector<std::string> texts;
  std::string input;
  for (const std::string& s : sentences())
    if (!s.empty() && s.find('\n') == std::string::npos) {
      texts.push_back(s);
      input += s + "\n";
    }
  CliOptions options;
  options.stdin_text = input;
  const CliResult r = capbench_cli({"embed", "--model", fixture("minilm-tiny").string(), "--device", "cpu"}, options);
  REQUIRE(r.status == 0);
  std::istringstream lines(r.out);
  const at::Tensor expected = reference_embeddings();
  const std::vector<std::string> all = sentences();
  size_t count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    REQUIRE(count < texts.size());
    std::istringstream numbers(line);
    std::vector<float> values;
    for (float v; numbers >> v;) values.push_back(v);
    const auto index = std::find(all.begin(), all.end(), texts[count]) - all.begin();
    CHECK(max_abs_diff(values, expected[index]) < 1e-5);
  }
  CHECK(count == texts.size());
}

TEST_CASE("embed: bad arguments end with one line") {
  check_usage_error(capbench_cli({"embed", "--model", fixture("minilm-tiny").string(), "--batch-size", "-2", "x"}),
                    "embed", "--batch-size must not be negative");
  TempDir dir;
  check_one_line_error(capbench_cli({"embed", "--model", (dir / "none").string(), "--device", "cpu", "x"}),
                       (dir / "none").string() + ": scorer model folder not found");
}
