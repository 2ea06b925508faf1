// Sentences per second of the minilm plugin at batch 1 and 256, and the time
// to embed the whole set at batch 256, on prompts of 20-60 words drawn from
// the vocabulary. By default the model has random weights and all-MiniLM-L6-v2's
// size (6 layers, hidden 384, 12 heads, intermediate 1536, vocabulary 30522);
// --model runs a real sentence-transformers folder instead (the real
// all-MiniLM-L6-v2: --model "$(scripts/fetch-scorer)"; its vocab.txt gives the words).
//   embed_bench [--model DIR | --vocab vocab.txt] [--device cpu|cuda] [--dtype fp32|bf16] [--sentences N]
// --sentences 16000 is a Kaggle-sized set. Without --model or --vocab the
// vocabulary is made up (every word one token).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <stdexcept>

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

// Seconds to embed `texts` in calls of `batch` texts (after one warm-up call).
double seconds(capbench::SentenceEmbedder& embedder, const std::vector<std::string>& texts, size_t batch) {
  embedder.embed(std::vector<std::string>(texts.begin(), texts.begin() + static_cast<std::ptrdiff_t>(std::min(batch, texts.size()))));
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < texts.size(); i += batch)
    embedder.embed(std::vector<std::string>(texts.begin() + static_cast<std::ptrdiff_t>(i),
                                            texts.begin() + static_cast<std::ptrdiff_t>(std::min(texts.size(), i + batch))));
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<std::string> read_lines(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error(file.string() + ": cannot read");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, vocab_file, device = "cpu", dtype = "fp32";
  size_t sentences = 512;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::printf("usage: embed_bench [--model DIR | --vocab vocab.txt] [--device cpu|cuda] [--dtype fp32|bf16] [--sentences N]\n");
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "embed_bench: %s needs a value\n", flag.c_str());
      return 2;
    }
    if (flag == "--model") model = argv[i + 1];
    else if (flag == "--vocab") vocab_file = argv[i + 1];
    else if (flag == "--device") device = argv[i + 1];
    else if (flag == "--dtype") dtype = argv[i + 1];
    else if (flag == "--sentences") sentences = std::stoul(argv[i + 1]);
    else {
      std::fprintf(stderr, "embed_bench: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (!model.empty() && !vocab_file.empty()) {
    std::fprintf(stderr, "embed_bench: --model uses the model's vocab.txt; give --model or --vocab, not both\n");
    return 2;
  }
  std::vector<std::string> vocab;
  fs::path dir = model;
  std::string temporary;
  if (model.empty()) {
    capbench::bench::RandomMiniLMSpec spec;
    if (!vocab_file.empty()) {
      vocab = read_lines(vocab_file);
      spec.vocab_size = static_cast<int64_t>(vocab.size());
    } else {
      vocab = capbench::bench::synthetic_vocab(spec.vocab_size);
    }
    temporary = (fs::temp_directory_path() / "capbench-embed-bench-XXXXXX").string();
    dir = mkdtemp(temporary.data());
    capbench::bench::write_random_minilm(dir, spec, vocab);
  } else {
    vocab = read_lines(dir / "vocab.txt");
  }

  capbench::ScorerOptions options;
  options.model = dir;
  options.device = device;
  options.dtype = dtype;
  options.batch_size = 256;
  if (!std::getenv("CAPBENCH_PLUGIN_PATH"))  // bench binaries live in <build>/bench, plugins in <build>/plugins
    options.plugin_dirs = {(fs::canonical("/proc/self/exe").parent_path().parent_path() / "plugins").string()};
  const auto embedder = capbench::load_scorer(options);
  const std::vector<std::string> texts = prompts(vocab, sentences, 1);
  const std::string what = model.empty() ? "random all-MiniLM-L6-v2-size model, " +
                                               (vocab_file.empty() ? std::string("synthetic") : vocab_file) + " vocabulary"
                                         : "model " + model;
  std::printf("embed_bench: %s, %s %s, %zu prompts of 20-60 words\n", what.c_str(), device.c_str(), dtype.c_str(),
              texts.size());
  const std::vector<std::string> few(texts.begin(), texts.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(64, texts.size())));
  std::printf("  batch 1:   %8.1f sentences/s\n", static_cast<double>(few.size()) / seconds(*embedder, few, 1));
  const double all = seconds(*embedder, texts, 256);
  std::printf("  batch 256: %8.1f sentences/s (%zu prompts in %.1f s)\n", static_cast<double>(texts.size()) / all,
              texts.size(), all);
  if (model.empty()) fs::remove_all(dir);
  return 0;
}
