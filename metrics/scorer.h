#pragma once
// The sentence embedder that scores predictions (all-MiniLM-L6-v2 for the
// competition), created from a plugin as the command line and runs need it.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/plugin_api.h"

namespace capbench {

struct ScorerOptions {
  std::filesystem::path model;            // sentence-transformers folder
  std::string plugin = "minilm";          // SentenceEmbedder plugin name
  std::string device = "auto";            // cpu, cuda, cuda:N, auto
  std::string dtype = "fp32";             // fp32, bf16 (fp16 on CUDA)
  int64_t batch_size = 0;                 // texts per forward pass; 0 = the plugin's default
  std::vector<std::string> plugin_dirs;   // --plugins; empty: $CAPBENCH_PLUGIN_PATH or beside the binary
};

// Loads the plugins and creates the embedder; throws Error when the plugin is
// missing or the model folder cannot be read.
std::shared_ptr<SentenceEmbedder> load_scorer(const ScorerOptions& options);

}  // namespace capbench
