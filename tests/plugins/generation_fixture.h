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
#include <vector>

#include "core/checkpoint.h"
#include "core/generation.h"
#include "core/json_file.h"
#include "core/plugin_loader.h"
#include "tests/plugins/hf_generate_kwargs.h"
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

// The named `generate_cases` of blip2-opt-tiny's references, decoded by
// `decoder` from the image-side output `soft`: each must give transformers'
// sequences (the BLIP-2 end-to-end tests, whatever file the weights came from).
inline void check_blip2_opt_cases(TextDecoder& decoder, const at::Tensor& soft,
                                  const std::vector<std::string>& names) {
  const Checkpoint refs = references("blip2-opt-tiny");
  const nlohmann::json cases = references_json("blip2-opt-tiny")["generate_cases"];
  for (const std::string& name : names) {
    CAPTURE(name);
    const nlohmann::json& info = cases[name];
    const std::string key = "gen." + name;
    at::Tensor ids = info.value("prompt", false) ? refs.view(key + ".input_ids") : torch::full({2, 1}, 2, torch::kLong);
    at::Tensor mask = info.value("prompt", false) ? refs.view(key + ".attention_mask") : torch::ones_like(ids);
    GenerationOptions o = options_from_hf_kwargs(info["kwargs"], true, ids.size(1));
    GenerationOutput out = generate(decoder, soft, ids, mask, o);
    CHECK(as_sequences(out.captions, 1).equal(refs.view(key + ".sequences")));
  }
}

// The cases of tests/fixtures/generate_extra.json for one model folder: each
// image's soft prompt (the reference `language_projection` row) run alone
// through generate_text with the case's prompt text and, for sampled cases,
// its seed; the ids must be transformers' rows ([start token] + generated ids
// + padding). Returns the number of cases checked.
inline int check_generate_extra(TextDecoder& decoder, const std::string& folder) {
  const auto tokenizer = load_tokenizer(fixture(folder));
  const at::Tensor soft = references(folder).view("language_projection");
  const bool decoder_only = !decoder.spec().encoder_decoder;
  const nlohmann::json cases = read_json_file(fixture("generate_extra.json")).at(folder);
  int checked = 0;
  for (const auto& [name, info] : cases.items()) {
    CAPTURE(name);
    // prompt null: no input_ids, which Blip2 replaces by [BOS] for OPT; tokenizer("") gives that too.
    const std::string prompt = info["prompt"].is_null() ? "" : info["prompt"].get<std::string>();
    const int64_t prompt_len = static_cast<int64_t>(tokenizer->encode(prompt, true).size());
    GenerationOptions options = options_from_hf_kwargs(info["kwargs"], decoder_only, prompt_len);
    options.prompt = prompt;
    if (!info["seed"].is_null()) options.seed = info["seed"].get<uint64_t>();
    const nlohmann::json& expected = info["sequences"];
    REQUIRE(static_cast<int64_t>(expected.size()) == soft.size(0));
    auto check_image = [&](int64_t image, const std::vector<Caption>& captions) {
      CAPTURE(image);
      std::vector<at::Tensor> rows;
      for (const auto& row : expected[image]) rows.push_back(torch::tensor(row.get<std::vector<int64_t>>(), torch::kLong));
      const at::Tensor want = torch::stack(rows);
      const at::Tensor got = as_sequences({captions}, decoder.spec().pad_token_id);
      CAPTURE(got);
      CAPTURE(want);
      CHECK(got.equal(want));
    };
    for (int64_t image = 0; image < soft.size(0); ++image)
      check_image(image, generate_text(decoder, *tokenizer, soft.narrow(0, image, 1), options).captions.at(0));
    // Sampled in one batch, every image still gets the captions of its own run.
    if (options.do_sample) {
      const GenerationOutput batch = generate_text(decoder, *tokenizer, soft, options);
      for (int64_t image = 0; image < soft.size(0); ++image) check_image(image, batch.captions.at(image));
    }
    ++checked;
  }
  return checked;
}

}  // namespace capbench::testing
