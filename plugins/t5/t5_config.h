#pragma once
// The T5 hyper-parameters the t5 plugin needs, read from a checkpoint's
// config.json: the `text_config` of a BLIP-2 checkpoint (tensors under
// `language_model.`) or the top level of a plain T5 / Flan-T5 snapshot.
// Absent keys take transformers' T5Config defaults, as HF does when it builds
// the sparse nested config of a BLIP-2 checkpoint.
#include <cstdint>
#include <filesystem>
#include <string>

namespace capbench::t5 {

struct T5Config {
  int64_t vocab_size = 32128;
  int64_t d_model = 512;                      // residual stream width
  int64_t d_kv = 64;                          // width of one attention head
  int64_t d_ff = 2048;                        // feed-forward inner width
  int64_t num_layers = 6;                     // encoder blocks
  int64_t num_decoder_layers = 6;             // decoder blocks (defaults to num_layers)
  int64_t num_heads = 8;
  int64_t relative_attention_num_buckets = 32;
  int64_t relative_attention_max_distance = 128;
  double layer_norm_epsilon = 1e-6;
  std::string dense_act_fn = "relu";          // activation of the feed-forward
  bool is_gated_act = false;                  // wo(act(wi_0 x) * wi_1 x) instead of wo(act(wi x))
  bool tie_word_embeddings = true;            // lm_head = shared, decoder output scaled by d_model**-0.5
  int64_t pad_token_id = 0;
  int64_t eos_token_id = 1;
  int64_t bos_token_id = -1;                  // -1: none (T5 has none)
  int64_t decoder_start_token_id = -1;        // -1: none configured

  int64_t inner_dim() const { return num_heads * d_kv; }
};

struct T5Source {
  T5Config config;
  std::string prefix;  // "language_model." for BLIP-2 checkpoints, "" for plain T5 snapshots
};

// Reads <folder>/config.json; throws Error naming the file and key for anything
// that is not a T5 language model or has an unsupported value.
T5Source read_t5_config(const std::filesystem::path& folder);

}  // namespace capbench::t5
