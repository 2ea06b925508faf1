// Inputs at the edges: invalid UTF-8, empty text, a megabyte of text in linear
// time, folders without tokenizer files, ids the vocabulary lacks.
#include <doctest/doctest.h>

#include <chrono>

#include "core/error.h"
#include "core/tokenizer.h"
#include "tests/core/tokenizers/tokenizer_test_support.h"

using capbench::load_tokenizer;
using capbench::test::fixtures;

namespace {

const char* const kFolders[] = {"gpt2-bpe", "bert-wordpiece", "t5-spm"};

double seconds_to_encode(const capbench::Tokenizer& tokenizer, const std::string& text, size_t& count) {
  const auto start = std::chrono::steady_clock::now();
  count = tokenizer.encode(text, false).size();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("invalid UTF-8 input is refused with the byte offset, as Python refuses to decode it") {
  for (const char* name : kFolders) {
    INFO(name);
    auto tokenizer = load_tokenizer(fixtures() / "tokenizers" / name);
    CHECK_THROWS_WITH_AS(tokenizer->encode("ab\xC3("), "text to tokenize is not valid UTF-8 (byte 2)", capbench::Error);
    CHECK_THROWS_AS(tokenizer->encode("\xED\xA0\x80"), capbench::Error);  // a UTF-16 surrogate
    CHECK_THROWS_AS(tokenizer->encode("\xC0\xAF"), capbench::Error);      // an overlong form
  }
}

TEST_CASE("byte tokens that split a character decode to U+FFFD, as errors='replace' does") {
  auto tokenizer = load_tokenizer(fixtures() / "tokenizers" / "gpt2-bpe");
  const auto ids = tokenizer->encode("\xC3\xA9", false);  // é: two byte tokens in this small vocabulary
  REQUIRE(ids.size() == 2);
  CHECK(tokenizer->decode({ids[0]}) == "\xEF\xBF\xBD");
  CHECK(tokenizer->decode({ids[1], ids[0]}) == "\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(tokenizer->decode(ids) == "\xC3\xA9");
}

TEST_CASE("empty text gives only the special tokens") {
  CHECK(load_tokenizer(fixtures() / "tokenizers" / "gpt2-bpe")->encode("") == std::vector<int64_t>{2});
  CHECK(load_tokenizer(fixtures() / "tokenizers" / "bert-wordpiece")->encode("") == std::vector<int64_t>{101, 102});
  CHECK(load_tokenizer(fixtures() / "tokenizers" / "t5-spm")->encode("") == std::vector<int64_t>{1});
  for (const char* name : kFolders) CHECK(load_tokenizer(fixtures() / "tokenizers" / name)->decode({}) == "");
}

TEST_CASE("a megabyte of text, even one endless word, encodes in linear time") {
  // The GPL text of the fixtures' last case: ordinary English prose.
  const std::string licence = capbench::read_json_file(fixtures() / "tokenizers" / "references.json")["tokenizers"]
                                                      ["gpt2-bpe"]["cases"].back()["text"];
  for (const char* name : kFolders) {
    INFO(name);
    auto tokenizer = load_tokenizer(fixtures() / "tokenizers" / name);
    for (const std::string unit : {std::string("a"), std::string("ab "), licence}) {
      std::string half, full;
      while (half.size() < (1u << 19)) half += unit;
      full = half + half;
      size_t half_count = 0, full_count = 0;
      const double t_half = seconds_to_encode(*tokenizer, half, half_count);
      const double t_full = seconds_to_encode(*tokenizer, full, full_count);
      INFO("unit of " << unit.size() << " bytes: " << t_half << " s for 512 KiB, " << t_full << " s for 1 MiB");
      CHECK(full_count >= half_count);
      // Quadratic work would take 4x, and minutes; the slack absorbs a shared machine's noise.
      CHECK(t_full < 60.0);
      CHECK(t_full < 3.5 * t_half + 2.0);
    }
  }
}

TEST_CASE("a folder without tokenizer files: the error names what was looked for") {
  capbench::test::ScratchFolder folder;
  CHECK_THROWS_WITH_AS(load_tokenizer(folder.path()),
                       doctest::Contains("no tokenizer files (looked for spiece.model, vocab.json + merges.txt, "
                                         "vocab.txt, tokenizer.json)"),
                       capbench::Error);
  CHECK_THROWS_AS(load_tokenizer(folder.path() / "missing"), capbench::Error);
}

TEST_CASE("a broken vocabulary file is named in the error") {
  capbench::test::ScratchFolder folder;
  folder.write("vocab.json", "{\"a\": 0,");
  folder.write("merges.txt", "#version: 0.2\n");
  CHECK_THROWS_WITH_AS(load_tokenizer(folder.path()), doctest::Contains("vocab.json"), capbench::Error);
  capbench::test::ScratchFolder spm;
  spm.write("spiece.model", "not a model");
  CHECK_THROWS_WITH_AS(load_tokenizer(spm.path()), doctest::Contains("spiece.model"), capbench::Error);
}

TEST_CASE("ids outside the vocabulary decode to nothing (WordPiece: to [UNK], as BertTokenizer does)") {
  auto bpe = load_tokenizer(fixtures() / "tokenizers" / "gpt2-bpe");
  CHECK(bpe->decode({43, 72, 50000, 368, -5}) == bpe->decode({43, 72, 368}));
  auto t5 = load_tokenizer(fixtures() / "tokenizers" / "t5-spm");
  CHECK(t5->decode({7000, 12, 1}) == t5->decode({12, 1}));
  auto bert = load_tokenizer(fixtures() / "tokenizers" / "bert-wordpiece");
  CHECK(bert->decode({101, 99999, 102}, false) == "[CLS] [UNK] [SEP]");
}

TEST_CASE("truncation to max_length keeps the special tokens, as transformers truncates") {
  auto bert = load_tokenizer(fixtures() / "tokenizers" / "bert-wordpiece");
  const auto full = bert->encode("the quick brown fox jumps over the lazy dog");
  const auto cut = bert->encode("the quick brown fox jumps over the lazy dog", true, 5);
  REQUIRE(cut.size() == 5);
  CHECK(std::vector<int64_t>(cut.begin(), cut.begin() + 4) == std::vector<int64_t>(full.begin(), full.begin() + 4));
  CHECK(cut.back() == 102);
  auto t5 = load_tokenizer(fixtures() / "tokenizers" / "t5-spm");
  const auto t5_cut = t5->encode("the quick brown fox jumps over the lazy dog", true, 3);
  CHECK(t5_cut.size() == 3);
  CHECK(t5_cut.back() == 1);
  // Too short for the special tokens alone: left untouched (transformers logs an error).
  CHECK(bert->encode("a", true, 1) == bert->encode("a"));
}
