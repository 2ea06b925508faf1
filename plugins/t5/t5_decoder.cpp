#include "plugins/t5/t5_decoder.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/nn/decoder_state.h"
#include "core/nn/masks.h"
#include "core/nn/placement.h"

namespace capbench::t5 {

namespace {

constexpr const char* kName = "t5";

void check_batch(const at::Tensor& soft_prompt, const at::Tensor& prompt_ids, const at::Tensor& prompt_mask,
                 int64_t d_model) {
  if (soft_prompt.dim() != 3 || soft_prompt.size(2) != d_model)
    throw Error("t5: soft prompt must be [batch, queries, " + std::to_string(d_model) + "], got " +
                c10::str(soft_prompt.sizes()));
  if (prompt_ids.defined()) {
    if (prompt_ids.dim() != 2 || prompt_ids.size(0) != soft_prompt.size(0))
      throw Error("t5: prompt ids must be [" + std::to_string(soft_prompt.size(0)) + ", length], got " +
                  c10::str(prompt_ids.sizes()));
    if (prompt_mask.defined() && prompt_mask.sizes() != prompt_ids.sizes())
      throw Error("t5: prompt mask " + c10::str(prompt_mask.sizes()) + " does not match prompt ids " +
                  c10::str(prompt_ids.sizes()));
  }
}

}  // namespace

T5Decoder::T5Decoder(std::shared_ptr<T5Model> model) : model_(std::move(model)) {
  const T5Config& c = model_->config();
  spec_.vocab_size = c.vocab_size;
  spec_.bos_token_id = c.bos_token_id;
  spec_.eos_token_id = c.eos_token_id;
  spec_.pad_token_id = c.pad_token_id;
  spec_.decoder_start_token_id = c.decoder_start_token_id;
  spec_.encoder_decoder = true;
}

T5Decoder::Encoded T5Decoder::encode(const at::Tensor& soft_prompt, const at::Tensor& prompt_ids,
                                     const at::Tensor& prompt_mask, std::vector<at::Tensor>* hidden_states) {
  check_batch(soft_prompt, prompt_ids, prompt_mask, model_->config().d_model);
  const nn::Placement& place = model_->placement();
  at::Tensor embeds = soft_prompt.to(place.device, place.dtype);
  at::Tensor mask = at::ones({soft_prompt.size(0), soft_prompt.size(1)}, at::TensorOptions().device(place.device).dtype(at::kLong));
  if (prompt_ids.defined() && prompt_ids.size(1) > 0) {
    at::Tensor ids = prompt_ids.to(place.device, at::kLong);
    embeds = at::cat({embeds, model_->embed(ids)}, 1);
    at::Tensor text_mask = prompt_mask.defined() ? prompt_mask.to(place.device, at::kLong) : at::ones_like(ids);
    mask = at::cat({mask, text_mask}, 1);
  }
  at::Tensor padding_bias = nn::key_padding_bias(mask, place.dtype);
  return {model_->encode(embeds, padding_bias, hidden_states), padding_bias};
}

TextDecoder::Start T5Decoder::start(const at::Tensor& soft_prompt, const at::Tensor& prompt_ids,
                                    const at::Tensor& prompt_mask) {
  return start_for_steps(soft_prompt, prompt_ids, prompt_mask, 0);
}

TextDecoder::Start T5Decoder::start_for_steps(const at::Tensor& soft_prompt, const at::Tensor& prompt_ids,
                                              const at::Tensor& prompt_mask, int64_t max_new_tokens) {
  c10::InferenceMode guard;
  Encoded encoded = encode(soft_prompt, prompt_ids, prompt_mask, nullptr);
  auto state = std::make_unique<T5State>();
  state->steps = max_new_tokens;
  model_->start_state(*state, encoded.output, encoded.padding_bias);
  at::Tensor first = at::full({soft_prompt.size(0)}, spec_.decoder_start_token_id,
                              at::TensorOptions().dtype(at::kLong).device(model_->placement().device));
  at::Tensor logits = step(*state, first);
  return {std::move(state), logits};
}

at::Tensor T5Decoder::step(DecoderState& state, const at::Tensor& tokens) {
  c10::InferenceMode guard;
  T5State& s = nn::state_of<T5State>(state, kName);
  at::Tensor ids = tokens.to(model_->placement().device, at::kLong).reshape({-1});
  if (ids.size(0) != s.rows())
    throw Error("t5: step() got " + std::to_string(ids.size(0)) + " tokens for " + std::to_string(s.rows()) + " rows");
  return model_->logits(model_->decode_step(ids, s));
}

void T5Decoder::select(DecoderState& state, const at::Tensor& rows) {
  c10::InferenceMode guard;
  nn::state_of<T5State>(state, kName).select(rows);
}

TextDecoder::Forward T5Decoder::forward(const at::Tensor& soft_prompt, const at::Tensor& prompt_ids,
                                        const at::Tensor& prompt_mask, const at::Tensor& decoder_ids) {
  c10::InferenceMode guard;
  if (!decoder_ids.defined() || decoder_ids.dim() != 2 || decoder_ids.size(0) != soft_prompt.size(0))
    throw Error("t5: forward() needs decoder ids [" + std::to_string(soft_prompt.size(0)) + ", length]");
  Forward out;
  Encoded encoded = encode(soft_prompt, prompt_ids, prompt_mask, &out.encoder_hidden_states);
  at::Tensor ids = decoder_ids.to(model_->placement().device, at::kLong);
  out.logits = model_->logits(model_->decode(ids, encoded.output, encoded.padding_bias, &out.hidden_states));
  return out;
}

std::shared_ptr<TextDecoder> make_t5_decoder(ComponentContext& ctx) {
  const nn::Placement place =
      nn::place(ctx, kName,
                {{at::kHalf, "T5 overflows in float16 (transformers and LAVIS run it in bf16 or fp32); "
                             "use dtype bf16 (--dtype bf16) or fp32"}});
  Checkpoint checkpoint = Checkpoint::open(ctx.checkpoint, ctx.weights);
  T5Source source = read_t5_config(checkpoint.folder());
  return std::make_shared<T5Decoder>(std::make_shared<T5Model>(std::move(source.config), checkpoint, source.prefix, place));
}

}  // namespace capbench::t5

CAPBENCH_PLUGIN("t5", TextDecoder, "T5 / Flan-T5 encoder-decoder language model (BLIP-2 language_model.* or a T5 snapshot)",
                capbench::t5::make_t5_decoder)
