#include "plugins/minilm/sentence_config.h"

#include "core/error.h"
#include "core/json_file.h"
#include "core/log.h"

namespace capbench::minilm {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void read_pooling(const fs::path& file, SentenceConfig& config) {
  const JsonObject json(read_json_file(file), file);
  config.pooling_dimension = json.get_int("word_embedding_dimension", 0);
  // sentence-transformers concatenates the modes in this order.
  if (json.get_bool("pooling_mode_cls_token", false)) config.pooling.push_back(Pooling::cls);
  if (json.get_bool("pooling_mode_max_tokens", false)) config.pooling.push_back(Pooling::max);
  if (json.get_bool("pooling_mode_mean_tokens", false)) config.pooling.push_back(Pooling::mean);
  if (json.get_bool("pooling_mode_mean_sqrt_len_tokens", false)) config.pooling.push_back(Pooling::mean_sqrt_len);
  for (const char* unsupported : {"pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"})
    if (json.get_bool(unsupported, false))
      throw Error(file.string() + ": " + unsupported + " is not supported (cls, max, mean, mean_sqrt_len_tokens are)");
  if (config.pooling.empty()) throw Error(file.string() + ": no pooling mode is enabled");
}

}  // namespace

SentenceConfig read_sentence_config(const fs::path& folder) {
  SentenceConfig config;
  config.transformer_dir = folder;
  const fs::path modules_file = folder / "modules.json";
  bool has_pooling = false;
  if (fs::exists(modules_file)) {
    const nlohmann::json modules = read_json_file(modules_file);
    if (!modules.is_array()) throw Error(modules_file.string() + ": expected a list of modules");
    for (size_t i = 0; i < modules.size(); ++i) {
      const JsonObject module(modules[i], modules_file, "[" + std::to_string(i) + "]");
      const std::string type = module.require_string("type");
      const fs::path path = folder / module.get_string("path", "");
      if (ends_with(type, ".Transformer")) {
        // Older exports keep the BERT files at the root even when modules.json names 0_Transformer.
        config.transformer_dir = fs::exists(path / "config.json") ? path : folder;
      } else if (ends_with(type, ".Pooling")) {
        read_pooling(path / "config.json", config);
        has_pooling = true;
      } else if (ends_with(type, ".Normalize")) {
        config.normalize = true;
      } else {
        throw Error(modules_file.string() + ": module " + module.key_path("type") + " = '" + type +
                    "' is not supported (Transformer, Pooling and Normalize are)");
      }
    }
  } else {
    log::warn("{}: no modules.json; using the BERT model in the folder with mean pooling", folder.string());
  }
  if (!has_pooling) config.pooling = {Pooling::mean};
  for (const fs::path& dir : {config.transformer_dir, folder}) {
    const fs::path file = dir / "sentence_bert_config.json";
    if (!fs::exists(file)) continue;
    const JsonObject json(read_json_file(file), file);
    config.max_seq_length = json.get_int("max_seq_length", 0);
    config.do_lower_case = json.get_bool("do_lower_case", false);
    break;
  }
  if (!fs::exists(config.transformer_dir / "config.json"))
    throw Error(folder.string() + ": no config.json of a BERT model (looked in " + config.transformer_dir.string() + ")");
  return config;
}

}  // namespace capbench::minilm
