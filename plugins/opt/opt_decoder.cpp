// The `opt` decoder plugin: OPTForCausalLM from a Blip2 checkpoint
// (language_model.*) or a plain OPT checkpoint, driven by the host's search.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/nn/decoder_state.h"
#include "core/nn/placement.h"
#include "core/plugin_api.h"
#include "plugins/opt/opt_model.h"

namespace capbench::opt {

namespace {

constexpr const char* kName = "opt decoder";

// Where the decoder's tensors sit: "language_model.model.decoder.*" (Blip2),
// "model.decoder.*" (OPTForCausalLM) or "decoder.*" (OPTModel).
std::string find_prefix(const Checkpoint& checkpoint, std::string& lm_head_name) {
  for (const std::string base : {"language_model.", ""}) {
    for (const std::string model : {"model.", ""}) {
      if (checkpoint.contains(base + model + "decoder.embed_tokens.weight")) {
        lm_head_name = base + "lm_head.weight";
        return base + model;
      }
    }
  }
  throw Error(checkpoint.folder().string() +
              ": no OPT decoder in the checkpoint (looked for language_model.model.decoder.embed_tokens.weight, "
              "model.decoder.embed_tokens.weight and decoder.embed_tokens.weight)");
}

class OptDecoder : public TextDecoder {
 public:
  explicit OptDecoder(ComponentContext& ctx) {
    const nn::Placement place = nn::place(ctx, kName);
    Checkpoint checkpoint = Checkpoint::open(ctx.checkpoint, ctx.weights);
    const OptConfig config = read_opt_config(checkpoint.folder());
    std::string lm_head_name;
    const std::string prefix = find_prefix(checkpoint, lm_head_name);
    model_ = std::make_shared<OptModel>(config, checkpoint, prefix, lm_head_name, place);
    spec_.vocab_size = config.vocab_size;
    spec_.bos_token_id = config.bos_token_id;
    spec_.eos_token_id = config.eos_token_id;
    spec_.pad_token_id = config.pad_token_id;
    spec_.encoder_decoder = false;
  }

  const DecoderSpec& spec() const override { return spec_; }

  Start start(const at::Tensor& soft_prompt, const at::Tensor& prompt_ids, const at::Tensor& prompt_mask) override {
    return start_for_steps(soft_prompt, prompt_ids, prompt_mask, 0);
  }

  Start start_for_steps(const at::Tensor& soft_prompt, const at::Tensor& prompt_ids, const at::Tensor& prompt_mask,
                        int64_t max_new_tokens) override {
    c10::InferenceMode inference;
    auto [embeds, mask] = inputs(soft_prompt, prompt_ids, prompt_mask);
    auto state = std::make_unique<OptState>();
    state->steps = max_new_tokens;
    at::Tensor hidden = model_->forward(embeds, mask, state.get(), nullptr);
    Start out;
    out.logits = model_->logits(hidden.select(1, hidden.size(1) - 1));
    out.state = std::move(state);
    return out;
  }

  at::Tensor step(DecoderState& state, const at::Tensor& tokens) override {
    c10::InferenceMode inference;
    const at::Tensor ids = tokens.to(model_->placement().device, at::kLong);
    return model_->logits(model_->step(ids, nn::state_of<OptState>(state, kName)));
  }

  void select(DecoderState& state, const at::Tensor& rows) override {
    c10::InferenceMode inference;
    nn::state_of<OptState>(state, kName).select(rows);
  }

  Forward forward(const at::Tensor& soft_prompt, const at::Tensor& prompt_ids, const at::Tensor& prompt_mask,
                  const at::Tensor& /*decoder_ids*/) override {
    c10::InferenceMode inference;
    auto [embeds, mask] = inputs(soft_prompt, prompt_ids, prompt_mask);
    Forward out;
    at::Tensor hidden = model_->forward(embeds, mask, nullptr, &out.hidden_states);
    out.logits = model_->logits(hidden);
    return out;
  }

 private:
  // inputs_embeds = [soft prompt; embed(prompt ids)], mask = [ones(Q); prompt mask].
  std::pair<at::Tensor, at::Tensor> inputs(const at::Tensor& soft_prompt, const at::Tensor& prompt_ids,
                                           const at::Tensor& prompt_mask) const {
    if (prompt_ids.dim() != 2 || !prompt_mask.sizes().equals(prompt_ids.sizes()))
      throw Error("opt decoder: prompt ids and mask must both be [B,P]");
    const nn::Placement& place = model_->placement();
    at::Tensor text = model_->embed_tokens(prompt_ids);
    at::Tensor mask = prompt_mask.to(place.device, at::kLong);
    if (!soft_prompt.defined() || soft_prompt.numel() == 0) return {text, mask};
    if (soft_prompt.dim() != 3 || soft_prompt.size(0) != prompt_ids.size(0))
      throw Error("opt decoder: soft prompt must be [B,Q,D] with the prompt's batch size");
    at::Tensor soft = soft_prompt.to(place.device, place.dtype);
    at::Tensor ones = at::ones({soft.size(0), soft.size(1)}, mask.options());
    return {at::cat({soft, text}, 1), at::cat({ones, mask}, 1)};
  }

  std::shared_ptr<OptModel> model_;
  DecoderSpec spec_;
};

std::shared_ptr<TextDecoder> make_opt_decoder(ComponentContext& ctx) { return std::make_shared<OptDecoder>(ctx); }

}  // namespace

}  // namespace capbench::opt

CAPBENCH_PLUGIN("opt", TextDecoder, "OPT decoder-only language model (BLIP-2 language_model.* or a plain OPT checkpoint)",
                capbench::opt::make_opt_decoder)
