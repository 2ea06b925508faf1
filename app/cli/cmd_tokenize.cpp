#include <iostream>
#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "core/error.h"
#include "core/tokenizer.h"

namespace capbench::cli {

namespace {

std::string join_ids(const std::vector<int64_t>& ids) {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ' ';
    out += std::to_string(ids[i]);
  }
  return out;
}

// A JSON string literal, so that newlines and tabs in a text stay on one line.
std::string quoted(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

int run_tokenize(const std::vector<std::string>& args) {
  po::options_description options("tokenize options");
  options.add_options()("model", po::value<std::string>()->required(),
                        "checkpoint or tokenizer folder (spiece.model, vocab.json + merges.txt, vocab.txt or tokenizer.json)")(
      "decode", "also show the decoded text (special tokens skipped)")(
      "json", "print a JSON array of {\"text\", \"ids\", \"decoded\"} in input order")(
      "no-special-tokens", "leave out the model's special tokens (BOS, EOS, [CLS] ... [SEP])")(
      "max-length", po::value<int64_t>()->default_value(0), "truncate to this many tokens, as the model would (0: no limit)")(
      "text", po::value<std::vector<std::string>>(), "texts (default: one per line from standard input)");
  po::positional_options_description positional;
  positional.add("text", -1);
  po::variables_map vm;
  if (!parse(args, command("tokenize"), options, positional, vm)) return 0;

  const std::vector<std::string> texts = texts_argument(vm, "text");
  const auto tokenizer = load_tokenizer(vm["model"].as<std::string>());
  const bool add_special = !vm.count("no-special-tokens");
  const int64_t max_length = vm["max-length"].as<int64_t>();
  if (max_length < 0) throw UsageError("--max-length must be 0 or more");

  nlohmann::json out = nlohmann::json::array();
  for (const auto& text : texts) {
    const auto ids = tokenizer->encode(text, add_special, max_length);
    if (vm.count("json")) {
      out.push_back({{"text", text}, {"ids", ids}, {"decoded", tokenizer->decode(ids, true)}});
    } else if (vm.count("decode")) {
      std::cout << join_ids(ids) << '\t' << quoted(tokenizer->decode(ids, true)) << '\n';
    } else {
      std::cout << join_ids(ids) << '\n';
    }
  }
  if (vm.count("json")) std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  return 0;
}

}  // namespace capbench::cli
