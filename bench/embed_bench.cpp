// Sentences per second of the minilm plugin at batch 1 and 256 on a
// random-weight model of all-MiniLM-L6-v2's size (6 layers, hidden 384, 12
// heads, intermediate 1536, vocabulary 30522) with prompts of 20-60 words.
//   embed_bench [--vocab vocab.txt] [--device cpu|cuda] [--dtype fp32|bf16] [--sentences N]
// Without --vocab the vocabulary is made up (every word one token).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>

#include "bench/random_minilm_model.h"
#include "core/plugin_loader.h"
#include "metrics/scorer.h"

namespace fs = std::filesystem;

namespace {

std::vector<std::string> prompts(const std::vector<std::string>& vocab, size_t count, uint64_t seed) {
  std::vector<std::string> words;
  for (const std::string& token : vocab)
    if (token.size() > 2 && token[0] != '[' && token[0] != '#') words.push_back(token);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, words.size() - 1);
  std::uniform_int_distribution<int> length(20, 60);
  std::vector<std::string> texts;
  for (size_t i = 0; i < count; ++i) {
    std::string text;
    for (int n = length(rng), w = 0; w < n; ++w) text += (w ? (w % 6 == 0 ? ", " : " ") : "") + words[pick(rng)];
    texts.push_back(text);
  }
  return texts;
}

double rate(capbench::SentenceEmbedder& embedder, const std::vector<std::string>& texts, size_t batch) {
  embedder.embed(std::vector<std::string>(texts.begin(), texts.begin() + static_cast<std::ptrdiff_t>(batch)));  // warm-up
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < texts.size(); i += batch)
    embedder.embed(std::vector<std::string>(texts.begin() + static_cast<std::ptrdiff_t>(i),
                                            texts.begin() + static_cast<std::ptrdiff_t>(std::min(texts.size(), i + batch))));
  return static_cast<double>(texts.size()) / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string vocab_file, device = "cpu", dtype = "fp32";
  size_t sentences = 512;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--vocab") vocab_file = argv[i + 1];
    else if (flag == "--device") device = argv[i + 1];
    else if (flag == "--dtype") dtype = argv[i + 1];
    else if (flag == "--sentences") sentences = std::stoul(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  capbench::bench::RandomMiniLMSpec spec;
  std::vector<std::string> vocab;
  if (!vocab_file.empty()) {
    std::ifstream in(vocab_file);
    for (std::string token; std::getline(in, token);) vocab.push_back(token);
    spec.vocab_size = static_cast<int64_t>(vocab.size());
  } else {
    vocab = capbench::bench::synthetic_vocab(spec.vocab_size);
  }
  std::string pattern = (fs::temp_directory_path() / "capbench-embed-bench-XXXXXX").string();
  const fs::path dir = mkdtemp(pattern.data());
  capbench::bench::write_random_minilm(dir, spec, vocab);

  capbench::ScorerOptions options;
  options.model = dir;
  options.device = device;
  options.dtype = dtype;
  options.batch_size = 256;
  if (!std::getenv("CAPBENCH_PLUGIN_PATH"))  // bench binaries live in <build>/bench, plugins in <build>/plugins
    options.plugin_dirs = {(fs::canonical("/proc/self/exe").parent_path().parent_path() / "plugins").string()};
  const auto embedder = capbench::load_scorer(options);
  const std::vector<std::string> texts = prompts(vocab, sentences, 1);
  std::printf("embed_bench: random all-MiniLM-L6-v2-size model, %s %s, %s vocabulary, %zu prompts of 20-60 words\n",
              device.c_str(), dtype.c_str(), vocab_file.empty() ? "synthetic" : vocab_file.c_str(), texts.size());
  const std::vector<std::string> few(texts.begin(), texts.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(64, texts.size())));
  std::printf("  batch 1:   %8.1f sentences/s\n", rate(*embedder, few, 1));
  std::printf("  batch 256: %8.1f sentences/s\n", rate(*embedder, texts, 256));
  fs::remove_all(dir);
  return 0;
}
