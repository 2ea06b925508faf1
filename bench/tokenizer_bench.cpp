// Tokenizer throughput: tokens per second of each tokenizer on about 1 MB of
// English text (the fixtures' licence texts, repeated) and on 100,000 short
// prompts (the fixtures' Stable-Diffusion-style prompts, cycled).
// Usage: tokenizer_bench [FIXTURES_DIR]   (default: tests/fixtures, run from the repository root)
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

#include "core/error.h"
#include "core/json_file.h"
#include "core/tokenizer.h"

namespace fs = std::filesystem;

namespace {

struct Result {
  size_t tokens = 0;
  double seconds = 0;
};

Result run(const capbench::Tokenizer& tokenizer, const std::vector<std::string>& texts) {
  Result r;
  const auto start = std::chrono::steady_clock::now();
  for (const auto& text : texts) r.tokens += tokenizer.encode(text).size();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

// A tokenizers-real folder completed with the committed vocabulary, in a temp folder.
fs::path real_folder(const fs::path& fixtures, const std::string& name) {
  const fs::path folder = fs::temp_directory_path() / ("capbench-bench-" + name + "-" + std::to_string(std::random_device{}()));
  fs::create_directories(folder);
  fs::copy_file(fixtures / "tokenizers-real" / name / "tokenizer_config.json", folder / "tokenizer_config.json");
  for (const auto& entry : fs::directory_iterator(fixtures / "vocab-real" / name))
    if (entry.path().extension() == ".json" || entry.path().extension() == ".txt")
      fs::copy_file(entry.path(), folder / entry.path().filename());
  return folder;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const fs::path fixtures = argc > 1 ? fs::path(argv[1]) : fs::path("tests/fixtures");
    const auto small = capbench::read_json_file(fixtures / "tokenizers" / "references.json")["tokenizers"];
    const auto real = capbench::read_json_file(fixtures / "tokenizers-real" / "references.json")["tokenizers"];

    // ~1 MB of English: the GPL-3 excerpt and the Apache-2.0 licence, alternately.
    const std::string gpl = small["gpt2-bpe"]["cases"].back()["text"];
    const std::string apache = real["gpt2-bpe"].back()["text"];
    std::string english;
    while (english.size() < (1u << 20)) english += gpl + "\n" + apache + "\n";
    // 100,000 short prompts: the real-vocabulary cases shorter than 200 bytes, cycled.
    std::vector<std::string> pool, prompts;
    for (const auto& c : real["gpt2-bpe"])
      if (c["text"].get<std::string>().size() < 200 && !c["text"].get<std::string>().empty()) pool.push_back(c["text"]);
    size_t prompt_bytes = 0;
    for (size_t i = 0; i < 100000; ++i) {
      prompts.push_back(pool[i % pool.size()]);
      prompt_bytes += prompts.back().size();
    }

    const std::vector<std::pair<std::string, fs::path>> tokenizers = {
        {"byte-level BPE, real GPT-2 (50257)", real_folder(fixtures, "gpt2-bpe")},
        {"WordPiece, real BERT-uncased (30522)", real_folder(fixtures, "bert-uncased")},
        {"byte-level BPE, OPT-style (660)", fixtures / "tokenizers" / "gpt2-bpe"},
        {"WordPiece, small (1201)", fixtures / "tokenizers" / "bert-wordpiece"},
        {"SentencePiece T5, small (700)", fixtures / "tokenizers" / "t5-spm"},
    };
    std::printf("%-38s %-22s %10s %8s %14s %8s\n", "tokenizer", "input", "tokens", "seconds", "tokens/s", "MB/s");
    for (const auto& [name, folder] : tokenizers) {
      const auto tokenizer = capbench::load_tokenizer(folder);
      const Result text = run(*tokenizer, {english});
      std::printf("%-38s %-22s %10zu %8.3f %14.0f %8.2f\n", name.c_str(), "1 MiB English text", text.tokens,
                  text.seconds, text.tokens / text.seconds, english.size() / 1e6 / text.seconds);
      const Result many = run(*tokenizer, prompts);
      std::printf("%-38s %-22s %10zu %8.3f %14.0f %8.2f\n", name.c_str(), "100k short prompts", many.tokens,
                  many.seconds, many.tokens / many.seconds, prompt_bytes / 1e6 / many.seconds);
      if (folder.string().find("capbench-bench-") != std::string::npos) fs::remove_all(folder);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tokenizer_bench: %s\n", e.what());
    return 1;
  }
}
