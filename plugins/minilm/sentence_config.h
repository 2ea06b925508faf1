#pragma once
// A sentence-transformers model folder: modules.json lists the modules
// (Transformer, Pooling, optionally Normalize); the Transformer's folder holds
// the BERT config, weights, tokenizer and sentence_bert_config.json.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace capbench::minilm {

enum class Pooling { cls, max, mean, mean_sqrt_len };

struct SentenceConfig {
  std::filesystem::path transformer_dir;  // config.json, weights, tokenizer
  std::vector<Pooling> pooling;           // concatenated in this order (sentence-transformers' order)
  bool normalize = false;                 // a Normalize module is listed
  int64_t max_seq_length = 0;             // 0: none given (use the model's limit)
  bool do_lower_case = false;             // lower-case texts before tokenizing
  int64_t pooling_dimension = 0;          // word_embedding_dimension of 1_Pooling/config.json, 0 when absent
};

// Reads the folder; throws Error naming the file and key for anything it cannot use.
SentenceConfig read_sentence_config(const std::filesystem::path& folder);

}  // namespace capbench::minilm
