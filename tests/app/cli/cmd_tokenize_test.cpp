// `capbench tokenize` end to end: the ids and decodes transformers' slow
// tokenizers give for the tricky strings of tests/fixtures/tokenizers, through
// the command's three output forms.
#include <doctest/doctest.h>

#include <set>

#include "core/json_file.h"
#include "tests/app/cli/cli_test_support.h"

using namespace capbench::testing;

namespace {

const nlohmann::json& tokenizer_refs(const std::string& name) {
  static const nlohmann::json all = capbench::read_json_file(fixture("tokenizers/references.json"))["tokenizers"];
  return all.at(name);
}

std::vector<std::string> case_texts(const nlohmann::json& refs) {
  std::vector<std::string> texts;
  for (const auto& c : refs["cases"]) texts.push_back(c["text"]);
  return texts;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  for (size_t begin = 0; begin < text.size();) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return lines;
}

std::string joined(const std::vector<int64_t>& ids) {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) out += (i ? " " : "") + std::to_string(ids[i]);
  return out;
}

}  // namespace

TEST_CASE("tokenize --json: every tricky string of the three tokenizer kinds, ids and decodes as transformers") {
  for (const std::string name : {"gpt2-bpe", "bert-wordpiece", "t5-spm"}) {
    CAPTURE(name);
    const nlohmann::json& refs = tokenizer_refs(name);
    const nlohmann::json out =
        json_per_text({"tokenize", "--model", fixture("tokenizers/" + name).string(), "--json"}, case_texts(refs));
    for (size_t i = 0; i < out.size(); ++i) {
      const nlohmann::json& want = refs["cases"][i];
      CAPTURE(want["text"]);
      CHECK(keys_of(out[i]) == std::set<std::string>{"text", "ids", "decoded"});
      CHECK(out[i]["text"] == want["text"]);
      CHECK(out[i]["ids"] == want["ids"]);
      CHECK(out[i]["decoded"] == want["decode_skip_special"]);
    }
  }
}

TEST_CASE("tokenize: texts from standard input, one per line; --no-special-tokens; --decode") {
  const nlohmann::json& refs = tokenizer_refs("gpt2-bpe");
  std::string input;
  std::vector<const nlohmann::json*> cases;
  for (const auto& c : refs["cases"]) {
    const std::string text = c["text"];
    if (text.find_first_of("\r\n") != std::string::npos) continue;  // a line cannot hold them
    input += text + "\n";
    cases.push_back(&c);
  }
  REQUIRE(cases.size() > 20);
  const std::string model = fixture("tokenizers/gpt2-bpe").string();

  CliOptions stdin_input;
  stdin_input.stdin_text = input;
  const CliResult plain = capbench_cli({"tokenize", "--model", model, "--no-special-tokens"}, stdin_input);
  REQUIRE(plain.status == 0);
  const std::vector<std::string> lines = lines_of(plain.out);
  REQUIRE(lines.size() == cases.size());
  for (size_t i = 0; i < cases.size(); ++i)
    CHECK(lines[i] == joined((*cases[i])["ids_no_special"].get<std::vector<int64_t>>()));

  const CliResult decoded = capbench_cli({"tokenize", "--model", model, "--decode"}, stdin_input);
  REQUIRE(decoded.status == 0);
  const std::vector<std::string> decoded_lines = lines_of(decoded.out);
  REQUIRE(decoded_lines.size() == cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    // ids, a tab, the decoded text as a JSON string
    const std::string expected = joined((*cases[i])["ids"].get<std::vector<int64_t>>()) + "\t" +
                                 nlohmann::json((*cases[i])["decode_skip_special"]).dump();
    CHECK(decoded_lines[i] == expected);
  }
}

TEST_CASE("tokenize: bad arguments end with one line") {
  check_usage_error(capbench_cli({"tokenize", "--model", fixture("tokenizers/gpt2-bpe").string(), "--max-length",
                                  "-1", "text"}),
                    "tokenize", "--max-length must be 0 or more");
  check_usage_error(capbench_cli({"tokenize", "text"}), "tokenize", "--model");
  TempDir empty;
  check_one_line_error(capbench_cli({"tokenize", "--model", empty.path().string(), "text"}), empty.path().string());
}
