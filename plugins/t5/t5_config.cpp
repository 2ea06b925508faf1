#include "plugins/t5/t5_config.h"

#include <vector>

#include "core/error.h"
#include "core/json_file.h"
#include "core/nn/activations.h"

namespace capbench::t5 {

namespace {

std::vector<std::string> split_dashes(const std::string& text) {
  std::vector<std::string> parts(1);
  for (char c : text) {
    if (c == '-')
      parts.emplace_back();
    else
      parts.back() += c;
  }
  return parts;
}

// T5Config.__init__: "gated-ACT" or "ACT"; "gated-gelu" means the tanh GELU.
void read_feed_forward(const JsonObject& json, T5Config& c) {
  const std::string proj = json.get_string("feed_forward_proj", "relu");
  const auto parts = split_dashes(proj);
  if (parts.size() > 2 || (parts.size() == 2 && parts[0] != "gated"))
    throw Error(json.file().string() + ": key '" + json.key_path("feed_forward_proj") + "' is '" + proj +
                "', expected ACTIVATION or gated-ACTIVATION (e.g. 'relu', 'gated-gelu')");
  c.dense_act_fn = parts.back();
  c.is_gated_act = parts.size() == 2;
  if (proj == "gated-gelu") c.dense_act_fn = "gelu_new";
  // Keys written next to feed_forward_proj override what it implies, as in transformers.
  c.dense_act_fn = json.get_string("dense_act_fn", c.dense_act_fn);
  c.is_gated_act = json.get_bool("is_gated_act", c.is_gated_act);
  nn::check_activation(c.dense_act_fn, json.file().string() + ": T5 activation (from '" +
                                           json.key_path("feed_forward_proj") + "'/'" + json.key_path("dense_act_fn") + "')");
}

T5Config parse(const JsonObject& json) {
  T5Config c;
  c.vocab_size = json.get_int("vocab_size", c.vocab_size);
  c.d_model = json.get_int("d_model", c.d_model);
  c.d_kv = json.get_int("d_kv", c.d_kv);
  c.d_ff = json.get_int("d_ff", c.d_ff);
  c.num_layers = json.get_int("num_layers", c.num_layers);
  c.num_decoder_layers = json.get_int("num_decoder_layers", c.num_layers);
  c.num_heads = json.get_int("num_heads", c.num_heads);
  c.relative_attention_num_buckets = json.get_int("relative_attention_num_buckets", c.relative_attention_num_buckets);
  c.relative_attention_max_distance =
      json.get_int("relative_attention_max_distance", c.relative_attention_max_distance);
  c.layer_norm_epsilon = json.get_double("layer_norm_epsilon", c.layer_norm_epsilon);
  c.tie_word_embeddings = json.get_bool("tie_word_embeddings", c.tie_word_embeddings);
  c.pad_token_id = json.get_int("pad_token_id", c.pad_token_id);
  c.eos_token_id = json.get_int("eos_token_id", c.eos_token_id);
  c.bos_token_id = json.get_int("bos_token_id", c.bos_token_id);
  // transformers falls back to the BOS token when no decoder start is configured.
  c.decoder_start_token_id = json.get_int("decoder_start_token_id", c.bos_token_id);
  if (c.decoder_start_token_id < 0)
    throw Error(json.file().string() + ": key '" + json.key_path("decoder_start_token_id") +
                "' is missing and there is no bos_token_id to start the decoder with");
  read_feed_forward(json, c);
  for (const auto& [key, value] : {std::pair<const char*, int64_t>{"vocab_size", c.vocab_size},
                                   {"d_model", c.d_model},
                                   {"d_kv", c.d_kv},
                                   {"d_ff", c.d_ff},
                                   {"num_layers", c.num_layers},
                                   {"num_decoder_layers", c.num_decoder_layers},
                                   {"num_heads", c.num_heads},
                                   {"relative_attention_num_buckets", c.relative_attention_num_buckets},
                                   {"relative_attention_max_distance", c.relative_attention_max_distance}})
    json.require_positive(key, value);
  return c;
}

bool is_t5_type(const std::string& model_type) { return model_type == "t5" || model_type == "mt5"; }

}  // namespace

T5Source read_t5_config(const std::filesystem::path& folder) {
  const auto file = folder / "config.json";
  const JsonObject top(read_json_file(file), file);
  const std::string model_type = top.get_string("model_type", "");
  if (is_t5_type(model_type)) return {parse(top), ""};
  if (!top.has("text_config"))
    throw Error(file.string() + ": neither a T5 model (model_type '" + model_type +
                "') nor a BLIP-2 model with a T5 'text_config' (a BLIP-2 config without one means OPT)");
  const JsonObject text = top.child("text_config");
  const std::string text_type = text.get_string("model_type", "opt");
  if (!is_t5_type(text_type))
    throw Error(file.string() + ": key 'text_config.model_type' is '" + text_type +
                "', the t5 decoder reads T5 / Flan-T5 language models only");
  return {parse(text), "language_model."};
}

}  // namespace capbench::t5
