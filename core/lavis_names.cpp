#include "core/lavis_names.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/error.h"

namespace capbench {

namespace {

const char* const kLavisPrefixes[] = {"visual_encoder.", "ln_vision.", "Qformer.", "opt_proj.", "t5_proj.", "opt_model.", "t5_model."};
const char* const kDroppedBuffers[] = {"Qformer.bert.embeddings.position_ids"};

bool starts_with(const std::string& text, const std::string& prefix) { return text.compare(0, prefix.size(), prefix) == 0; }

// The LAVIS names of everything but the language model, each with its transformers name.
struct Expected {
  std::map<std::string, std::string> renamed;       // LAVIS -> transformers
  std::map<std::string, std::string> q_bias_of;     // q_bias -> the qkv bias it starts
  std::map<std::string, std::string> v_bias_of;     // q_bias -> its v_bias
  std::set<std::string> v_biases;
  std::string lm_prefix;                            // "opt_model." or "t5_model."
};

Expected expected_names(const Blip2Config& config, const std::string& origin) {
  Expected e;
  std::string lm;
  if (config.text_model_type == "opt")
    lm = "opt";
  else if (config.text_model_type == "t5")
    lm = "t5";
  else
    throw Error(origin + ": LAVIS names are mapped for BLIP-2 with OPT or T5 (config.json's text_config.model_type is '" +
                config.text_model_type + "')");
  e.lm_prefix = lm + "_model.";
  auto pair = [&](const std::string& from, const std::string& to) {
    for (const char* p : {"weight", "bias"}) e.renamed[from + "." + p] = to + "." + p;
  };
  e.renamed["query_tokens"] = "query_tokens";
  e.renamed["visual_encoder.cls_token"] = "vision_model.embeddings.class_embedding";
  e.renamed["visual_encoder.pos_embed"] = "vision_model.embeddings.position_embedding";
  pair("visual_encoder.patch_embed.proj", "vision_model.embeddings.patch_embedding");
  pair("ln_vision", "vision_model.post_layernorm");
  for (int64_t i = 0; i < config.vision.num_hidden_layers; ++i) {
    const std::string from = "visual_encoder.blocks." + std::to_string(i) + ".";
    const std::string to = "vision_model.encoder.layers." + std::to_string(i) + ".";
    pair(from + "norm1", to + "layer_norm1");
    pair(from + "norm2", to + "layer_norm2");
    e.renamed[from + "attn.qkv.weight"] = to + "self_attn.qkv.weight";
    pair(from + "attn.proj", to + "self_attn.projection");
    pair(from + "mlp.fc1", to + "mlp.fc1");
    pair(from + "mlp.fc2", to + "mlp.fc2");
    if (config.vision.qkv_bias) {
      e.q_bias_of[from + "attn.q_bias"] = to + "self_attn.qkv.bias";
      e.v_bias_of[from + "attn.q_bias"] = from + "attn.v_bias";
      e.v_biases.insert(from + "attn.v_bias");
    }
  }
  pair("Qformer.bert.embeddings.LayerNorm", "qformer.layernorm");
  for (int64_t i = 0; i < config.qformer.num_hidden_layers; ++i) {
    const std::string from = "Qformer.bert.encoder.layer." + std::to_string(i) + ".";
    const std::string to = "qformer.encoder.layer." + std::to_string(i) + ".";
    std::vector<std::string> attentions = {"attention"};
    if (i % config.qformer.cross_attention_frequency == 0) attentions.push_back("crossattention");
    for (const auto& a : attentions) {
      for (const char* p : {"query", "key", "value"}) pair(from + a + ".self." + p, to + a + ".attention." + p);
      pair(from + a + ".output.dense", to + a + ".output.dense");
      pair(from + a + ".output.LayerNorm", to + a + ".output.LayerNorm");
    }
    pair(from + "intermediate_query.dense", to + "intermediate_query.dense");
    pair(from + "output_query.dense", to + "output_query.dense");
    pair(from + "output_query.LayerNorm", to + "output_query.LayerNorm");
  }
  pair(lm + "_proj", "language_projection");
  return e;
}

std::string some(const std::vector<std::string>& names) {
  constexpr size_t kShown = 8;
  std::string text;
  for (size_t i = 0; i < names.size() && i < kShown; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > kShown) text += ", ... and " + std::to_string(names.size() - kShown) + " more";
  return text;
}

}  // namespace

bool has_lavis_names(const std::vector<std::string>& names) {
  for (const auto& name : names)
    for (const char* prefix : kLavisPrefixes)
      if (starts_with(name, prefix)) return true;
  return false;
}

std::vector<LavisTensor> map_lavis_names(const std::vector<std::string>& names, const Blip2Config& config,
                                         const std::string& origin) {
  const Expected e = expected_names(config, origin);
  const std::set<std::string> present(names.begin(), names.end());
  std::vector<LavisTensor> tensors;
  std::vector<std::string> unknown, missing;
  bool has_language_model = false;
  for (const auto& name : names) {
    if (auto it = e.renamed.find(name); it != e.renamed.end()) {
      tensors.push_back({it->second, name, ""});
    } else if (auto q = e.q_bias_of.find(name); q != e.q_bias_of.end()) {
      tensors.push_back({q->second, name, e.v_bias_of.at(name)});
    } else if (e.v_biases.count(name)) {
      continue;  // read with its q_bias
    } else if (starts_with(name, e.lm_prefix) && name.size() > e.lm_prefix.size()) {
      tensors.push_back({"language_model." + name.substr(e.lm_prefix.size()), name, ""});
      has_language_model = true;
    } else if (std::find(std::begin(kDroppedBuffers), std::end(kDroppedBuffers), name) == std::end(kDroppedBuffers)) {
      unknown.push_back(name);
    }
  }
  if (!has_language_model) missing.push_back(e.lm_prefix + "* (the language model)");
  for (const auto& [name, hf] : e.renamed)
    if (!present.count(name)) missing.push_back(name);
  for (const auto& [name, hf] : e.q_bias_of)
    if (!present.count(name)) missing.push_back(name);
  for (const auto& name : e.v_biases)
    if (!present.count(name)) missing.push_back(name);
  if (!unknown.empty() || !missing.empty()) {
    std::string problems;
    if (!unknown.empty()) problems += std::to_string(unknown.size()) + " unknown: " + some(unknown);
    if (!missing.empty()) problems += (problems.empty() ? "" : "; ") + std::to_string(missing.size()) + " missing: " + some(missing);
    throw Error(origin + ": LAVIS names do not match the BLIP-2 of " + config.file.string() + " (vision " +
                std::to_string(config.vision.num_hidden_layers) + " layers, Q-Former " +
                std::to_string(config.qformer.num_hidden_layers) + " layers, " + config.text_model_type + "): " + problems);
  }
  return tensors;
}

}  // namespace capbench
