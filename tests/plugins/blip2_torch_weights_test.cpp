// BLIP-2 from torch.save weights through the unchanged plugins: the
// blip2-opt-tiny weights as .bin shards give blip2-opt-tiny's references, and the
// LAVIS .pth files (plain fp32 state dict; {"model": ...} with the ViT in fp16),
// passed as ComponentContext::weights beside the folder's config, give the ids
// transformers computed for them (blip2-opt-tiny-lavis/references.json).
#include <doctest/doctest.h>
#include <torch/torch.h>

#include "core/tokenizer.h"
#include "tests/plugins/generation_fixture.h"

using namespace capbench;
using namespace capbench::testing;

namespace {

struct Blip2 {
  std::shared_ptr<ImageEncoder> encoder;
  std::shared_ptr<Bridge> bridge;
  std::shared_ptr<TextDecoder> decoder;
};

Blip2 load(const std::string& folder, const std::string& weights = "") {
  ComponentContext ctx;
  ctx.checkpoint = fixture(folder);
  ctx.device = "cpu";
  ctx.dtype = "fp32";
  if (!weights.empty()) ctx.weights = fixture(folder) / weights;
  ComponentContext encoder_ctx = ctx, bridge_ctx = ctx, decoder_ctx = ctx;
  return {plugin_registry().create<ImageEncoder>("blip2-vision", encoder_ctx),
          plugin_registry().create<Bridge>("qformer", bridge_ctx),
          plugin_registry().create<TextDecoder>("opt", decoder_ctx)};
}

at::Tensor soft_prompt(Blip2& model, const at::Tensor& pixel_values) {
  c10::InferenceMode inference;
  return model.bridge->bridge(model.encoder->encode(pixel_values).last_hidden_state).soft_prompt;
}

}  // namespace

TEST_CASE("the .bin shards give blip2-opt-tiny's soft prompt and ids") {
  Blip2 model = load("blip2-opt-tiny-bin");
  const Checkpoint refs = references("blip2-opt-tiny");
  const at::Tensor soft = soft_prompt(model, refs.view("pixel_values"));
  CHECK(max_abs_diff(soft, refs.view("language_projection")) < 1e-4);
  check_blip2_opt_cases(*model.decoder, soft, {"greedy_noprompt", "greedy_prompt", "beam3_noprompt", "beam3_prompt", "beam5_lp2_nrs3"});
}

TEST_CASE("the LAVIS .pth files give transformers' ids for their weights") {
  const nlohmann::json cases = references_json("blip2-opt-tiny-lavis")["cases"];
  const at::Tensor pixel_values = references("blip2-opt-tiny").view("pixel_values");
  const auto tokenizer = load_tokenizer(fixture("blip2-opt-tiny-lavis"));
  for (const auto& [file, prefix] : std::vector<std::pair<std::string, std::string>>{{"lavis_state_dict.pth", ""},
                                                                                     {"lavis_checkpoint.pth", "fp16_"}}) {
    CAPTURE(file);
    Blip2 model = load("blip2-opt-tiny-lavis", file);
    const at::Tensor soft = soft_prompt(model, pixel_values);
    for (const std::string name : {"greedy", "beam3", "greedy_prompt", "beam3_prompt"}) {
      CAPTURE(name);
      const nlohmann::json& info = cases[prefix + name];
      GenerationOptions o;
      o.max_new_tokens = info["kwargs"]["max_new_tokens"].get<int64_t>();
      o.num_beams = info["kwargs"].value("num_beams", int64_t{1});
      if (!info["prompt"].is_null()) o.prompt = info["prompt"].get<std::string>();
      GenerationOutput out = generate_text(*model.decoder, *tokenizer, soft, o);
      std::vector<at::Tensor> rows;
      for (const auto& row : info["sequences"]) rows.push_back(torch::tensor(row.get<std::vector<int64_t>>(), torch::kLong));
      CHECK(as_sequences(out.captions, 1).equal(torch::stack(rows)));
    }
  }
}
