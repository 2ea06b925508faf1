#pragma once
// Shared by the decoder tests: fixture folders, their reference tensors and
// notes, a decoder plugin created through the registry, and the translation of
// a fixture case's transformers generate() kwargs into capbench's options.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "core/checkpoint.h"
#include "core/generation.h"
#include "core/json_file.h"
#include "core/plugin_loader.h"
#include "tests/test_support.h"

namespace capbench::testing {

inline nlohmann::json references_json(const std::string& name) {
  return read_json_file(fixture(name) / "references.json");
}

inline Checkpoint references(const std::string& name) {
  return Checkpoint::open(fixture(name) / "references.safetensors");
}

inline const PluginRegistry& plugin_registry() {
  static const PluginRegistry registry(PluginRegistry::search_path({}));
  return registry;
}

template <class Interface>
std::shared_ptr<Interface> make_component(const std::string& plugin, const std::string& folder,
                                          const std::string& dtype = "fp32", const std::string& device = "cpu") {
  ComponentContext ctx;
  ctx.checkpoint = fixture(folder);
  ctx.device = device;
  ctx.dtype = dtype;
  return plugin_registry().create<Interface>(plugin, ctx);
}

inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  REQUIRE(a.sizes().equals(b.sizes()));
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

// transformers' Blip2ForConditionalGeneration.generate kwargs -> capbench options.
// Length rules (notes "generate"): a decoder-only LM generates from
// inputs_embeds with empty running ids, Blip2 rewrites max_length to
// max_length + Q - 1 and min_length to min_length + Q, and generate subtracts
// the Q + P input embeddings again (P = prompt ids incl. BOS, or 1 for the BOS
// Blip2 adds without a prompt): max_length L -> L - 1 - P new tokens,
// min_length m -> max(m - P, 0). An encoder-decoder LM counts its decoder start
// token in max_length / min_length: L -> L - 1, m -> max(m - 1, 0).
// max_new_tokens / min_new_tokens are new tokens in both.
inline GenerationOptions options_from_hf_kwargs(const nlohmann::json& kwargs, bool decoder_only, int64_t prompt_len) {
  GenerationOptions o;
  const int64_t counted = decoder_only ? prompt_len : 1;
  if (kwargs.contains("max_new_tokens"))
    o.max_new_tokens = kwargs["max_new_tokens"].get<int64_t>();
  else
    o.max_new_tokens = kwargs.value("max_length", int64_t{20}) - 1 - (decoder_only ? prompt_len : 0);
  if (kwargs.contains("min_new_tokens"))
    o.min_new_tokens = kwargs["min_new_tokens"].get<int64_t>();
  else
    o.min_new_tokens = std::max<int64_t>(kwargs.value("min_length", int64_t{0}) - counted, 0);
  o.num_beams = kwargs.value("num_beams", int64_t{1});
  o.length_penalty = kwargs.value("length_penalty", 1.0);
  if (kwargs.contains("early_stopping")) {
    const auto& e = kwargs["early_stopping"];
    o.early_stopping = e.is_boolean() ? (e.get<bool>() ? "true" : "false") : e.get<std::string>();
  }
  o.repetition_penalty = kwargs.value("repetition_penalty", 1.0);
  o.no_repeat_ngram_size = kwargs.value("no_repeat_ngram_size", int64_t{0});
  o.do_sample = kwargs.value("do_sample", false);
  o.temperature = kwargs.value("temperature", 1.0);
  o.top_k = kwargs.value("top_k", int64_t{50});
  o.top_p = kwargs.value("top_p", 1.0);
  o.num_captions = kwargs.value("num_return_sequences", int64_t{1});
  return o;
}

// Generated captions as transformers' `sequences`: rows image-major, shorter
// rows padded with `pad` to the longest.
inline at::Tensor as_sequences(const std::vector<std::vector<Caption>>& captions, int64_t pad) {
  size_t width = 0;
  for (const auto& per_image : captions)
    for (const auto& c : per_image) width = std::max(width, c.ids.size());
  std::vector<at::Tensor> rows;
  for (const auto& per_image : captions)
    for (const auto& c : per_image) {
      std::vector<int64_t> ids = c.ids;
      ids.resize(width, pad);
      rows.push_back(torch::tensor(ids, torch::kLong));
    }
  return torch::stack(rows);
}

}  // namespace capbench::testing
