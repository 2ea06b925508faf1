#pragma once
// Writes a sentence-transformers folder of a BERT model with random weights
// (for the embed benchmark, and for tests that need all-MiniLM-L6-v2's
// 384-d output without its weights): config.json, model.safetensors,
// modules.json, 1_Pooling/config.json (mean), Normalize, sentence_bert_config.json,
// a WordPiece vocabulary and its tokenizer files.
#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/safetensors.h"

namespace capbench::bench {

struct RandomMiniLMSpec {
  int64_t layers = 6;  // all-MiniLM-L6-v2's shape by default
  int64_t hidden = 384;
  int64_t heads = 12;
  int64_t intermediate = 1536;
  int64_t vocab_size = 30522;
  int64_t max_seq_length = 256;
  uint64_t seed = 0;
};

// BERT's special tokens at their usual ids ([PAD] 0, [UNK] 100, [CLS] 101,
// [SEP] 102, [MASK] 103), then `size - 104` made-up lower-case words.
inline std::vector<std::string> synthetic_vocab(int64_t size, uint64_t seed = 0) {
  std::vector<std::string> vocab{"[PAD]"};
  for (int i = 0; i < 99; ++i) vocab.push_back("[unused" + std::to_string(i) + "]");
  for (const char* special : {"[UNK]", "[CLS]", "[SEP]", "[MASK]"}) vocab.emplace_back(special);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> length(2, 9), letter(0, 25);
  while (static_cast<int64_t>(vocab.size()) < size) {
    std::string word;
    for (int n = length(rng); n > 0; --n) word += static_cast<char>('a' + letter(rng));
    vocab.push_back(word + std::to_string(vocab.size()));  // the suffix keeps every entry unique
  }
  return vocab;
}

inline void write_random_minilm(const std::filesystem::path& dir, const RandomMiniLMSpec& spec,
                                const std::vector<std::string>& vocab) {
  namespace fs = std::filesystem;
  fs::create_directories(dir / "1_Pooling");
  auto write_json = [](const fs::path& file, const nlohmann::json& value) { std::ofstream(file) << value.dump(1); };
  write_json(dir / "config.json", {{"model_type", "bert"}, {"architectures", {"BertModel"}}, {"hidden_size", spec.hidden},
                                   {"num_hidden_layers", spec.layers}, {"num_attention_heads", spec.heads},
                                   {"intermediate_size", spec.intermediate}, {"vocab_size", spec.vocab_size},
                                   {"max_position_embeddings", 512}, {"hidden_act", "gelu"}});
  write_json(dir / "modules.json",
             nlohmann::json::array({{{"idx", 0}, {"name", "0"}, {"path", ""}, {"type", "sentence_transformers.models.Transformer"}},
                                    {{"idx", 1}, {"name", "1"}, {"path", "1_Pooling"}, {"type", "sentence_transformers.models.Pooling"}},
                                    {{"idx", 2}, {"name", "2"}, {"path", "2_Normalize"}, {"type", "sentence_transformers.models.Normalize"}}}));
  write_json(dir / "1_Pooling/config.json", {{"word_embedding_dimension", spec.hidden}, {"pooling_mode_mean_tokens", true}});
  write_json(dir / "sentence_bert_config.json", {{"max_seq_length", spec.max_seq_length}, {"do_lower_case", false}});
  write_json(dir / "tokenizer_config.json", {{"tokenizer_class", "BertTokenizer"}, {"do_lower_case", true},
                                             {"model_max_length", 512}, {"unk_token", "[UNK]"}, {"pad_token", "[PAD]"},
                                             {"cls_token", "[CLS]"}, {"sep_token", "[SEP]"}, {"mask_token", "[MASK]"}});
  std::ofstream vocab_file(dir / "vocab.txt");
  for (const std::string& token : vocab) vocab_file << token << "\n";

  at::manual_seed(static_cast<uint64_t>(spec.seed));
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  auto normal = [](std::vector<int64_t> shape) { return at::randn(shape) * 0.05; };
  auto add_norm = [&](const std::string& name, int64_t dim) {
    tensors.emplace_back(name + ".weight", at::ones({dim}) + at::randn({dim}) * 0.02);
    tensors.emplace_back(name + ".bias", at::randn({dim}) * 0.02);
  };
  auto add_linear = [&](const std::string& name, int64_t in, int64_t out) {
    tensors.emplace_back(name + ".weight", normal({out, in}));
    tensors.emplace_back(name + ".bias", normal({out}));
  };
  const int64_t d = spec.hidden;
  tensors.emplace_back("embeddings.word_embeddings.weight", normal({spec.vocab_size, d}));
  tensors.emplace_back("embeddings.position_embeddings.weight", normal({512, d}));
  tensors.emplace_back("embeddings.token_type_embeddings.weight", normal({2, d}));
  add_norm("embeddings.LayerNorm", d);
  for (int64_t l = 0; l < spec.layers; ++l) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    for (const char* m : {"query", "key", "value"}) add_linear(p + "attention.self." + m, d, d);
    add_linear(p + "attention.output.dense", d, d);
    add_norm(p + "attention.output.LayerNorm", d);
    add_linear(p + "intermediate.dense", d, spec.intermediate);
    add_linear(p + "output.dense", spec.intermediate, d);
    add_norm(p + "output.LayerNorm", d);
  }
  add_linear("pooler.dense", d, d);  // stored by real checkpoints, never used
  write_safetensors(dir / "model.safetensors", tensors, {{"format", "pt"}});
}

}  // namespace capbench::bench
