// Every case of tests/fixtures/tokenizers and tests/fixtures/tokenizers-real:
// the same ids, with and without special tokens, and the same decoded text,
// with and without skip_special_tokens, as transformers' slow tokenizers.
#include <doctest/doctest.h>

#include "core/token_batch.h"
#include "core/tokenizer.h"
#include "tests/core/tokenizers/tokenizer_test_support.h"

#include <ATen/ATen.h>

using capbench::load_tokenizer;
using capbench::Tokenizer;
using capbench::test::fixtures;
using capbench::test::ScratchFolder;

namespace {

int check_cases(const Tokenizer& tokenizer, const nlohmann::json& cases) {
  int checked = 0;
  for (const auto& c : cases) {
    const std::string text = c["text"];
    INFO("text: " << text.substr(0, 120));
    const auto ids = c["ids"].get<std::vector<int64_t>>();
    CHECK(tokenizer.encode(text, true) == ids);
    CHECK(tokenizer.encode(text, false) == c["ids_no_special"].get<std::vector<int64_t>>());
    CHECK(tokenizer.decode(ids, false) == c["decode"].get<std::string>());
    CHECK(tokenizer.decode(ids, true) == c["decode_skip_special"].get<std::string>());
    ++checked;
  }
  return checked;
}

const nlohmann::json& small_references() {
  static const nlohmann::json json = capbench::read_json_file(fixtures() / "tokenizers" / "references.json");
  return json;
}

const nlohmann::json& real_references() {
  static const nlohmann::json json = capbench::read_json_file(fixtures() / "tokenizers-real" / "references.json");
  return json;
}

// A tokenizers-real folder completed with the committed real vocabulary.
void real_folder(const ScratchFolder& folder, const std::string& name) {
  folder.add(fixtures() / "tokenizers-real" / name / "tokenizer_config.json");
  for (const auto& entry : std::filesystem::directory_iterator(fixtures() / "vocab-real" / name))
    if (entry.path().extension() == ".json" || entry.path().extension() == ".txt") folder.add(entry.path());
}

std::vector<int64_t> flat(const at::Tensor& t) {
  auto c = t.contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

std::vector<int64_t> flat(const nlohmann::json& rows) {
  std::vector<int64_t> out;
  for (const auto& row : rows)
    for (const auto& v : row) out.push_back(v.get<int64_t>());
  return out;
}

}  // namespace

TEST_CASE("small trained vocabularies: every reference case") {
  const auto& tokenizers = small_references()["tokenizers"];
  for (const char* name : {"gpt2-bpe", "bert-wordpiece", "t5-spm"}) {
    INFO("tokenizer " << name);
    const auto& reference = tokenizers[name];
    auto tokenizer = load_tokenizer(fixtures() / "tokenizers" / reference["folder"].get<std::string>());
    CHECK(tokenizer->vocab_size() == reference["len"].get<int64_t>());
    CHECK(check_cases(*tokenizer, reference["cases"]) == 34);
  }
}

TEST_CASE("small SentencePiece vocabulary loaded with legacy=false") {
  ScratchFolder folder;
  const auto source = fixtures() / "tokenizers" / "t5-spm";
  for (const char* file : {"spiece.model", "added_tokens.json", "special_tokens_map.json"}) folder.add(source / file);
  auto config = capbench::read_json_file(source / "tokenizer_config.json");
  config["legacy"] = false;
  folder.write("tokenizer_config.json", config.dump());
  auto tokenizer = load_tokenizer(folder.path());
  CHECK(check_cases(*tokenizer, small_references()["tokenizers"]["t5-spm-legacy-false"]["cases"]) == 34);
}

TEST_CASE("special ids and framing read from the folders") {
  auto opt = load_tokenizer(fixtures() / "tokenizers" / "gpt2-bpe");
  CHECK(opt->special_tokens().bos == 2);
  CHECK(opt->special_tokens().pad == 1);
  CHECK(opt->padding_side() == "left");
  auto t5 = load_tokenizer(fixtures() / "tokenizers" / "t5-spm");
  CHECK(t5->special_tokens().eos == 1);
  CHECK(t5->special_tokens().pad == 0);
  CHECK(t5->padding_side() == "right");
  CHECK(t5->encode("<extra_id_0>", false) == std::vector<int64_t>{699});
  CHECK(t5->encode("<extra_id_99>", false) == std::vector<int64_t>{600});
  auto bert = load_tokenizer(fixtures() / "tokenizers" / "bert-wordpiece");
  CHECK(bert->special_tokens().cls == 101);
  CHECK(bert->special_tokens().sep == 102);
  CHECK(bert->special_tokens().pad == 0);
}

TEST_CASE("batches padded as the reference pads them") {
  const auto& batches = small_references()["tokenizers"]["batches"];
  const auto texts = batches["texts"].get<std::vector<std::string>>();
  struct Batch {
    const char* folder;
    const char* key;
    const char* side;
  };
  for (const Batch& b : {Batch{"gpt2-bpe", "gpt2-bpe_left_pad", "left"}, Batch{"gpt2-bpe", "gpt2-bpe_right_pad", "right"},
                         Batch{"bert-wordpiece", "bert-wordpiece_right_pad", "right"},
                         Batch{"t5-spm", "t5-spm_right_pad", "right"}}) {
    INFO(b.key);
    auto tokenizer = load_tokenizer(fixtures() / "tokenizers" / b.folder);
    const auto batch = capbench::encode_batch(*tokenizer, texts, true, 0, b.side);
    const auto& expected = batches[b.key];
    CHECK(batch.ids.size(0) == static_cast<int64_t>(expected["input_ids"].size()));
    CHECK(flat(batch.ids) == flat(expected["input_ids"]));
    CHECK(flat(batch.mask) == flat(expected["attention_mask"]));
  }
}

TEST_CASE("real GPT-2 and BERT-uncased vocabularies: every reference case") {
  const auto& references = real_references();
  for (const char* name : {"gpt2-bpe", "bert-uncased"}) {
    INFO("tokenizer " << name);
    ScratchFolder folder;
    real_folder(folder, name);
    auto tokenizer = load_tokenizer(folder.path());
    CHECK(check_cases(*tokenizer, references["tokenizers"][name]) == 56);
  }
}
