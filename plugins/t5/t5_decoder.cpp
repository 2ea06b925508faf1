#include "plugins/t5/t5_decoder.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/checkpoint.h"
#include "core/dtype.h"
#include "core/error.h"

namespace capbench::t5 {

namespace {

struct T5State : DecoderState {
  at::Tensor padding_bias;  // [R,1,1,S] additive encoder mask for the cross-attention
  CrossAttentionCache cross;
  SelfAttentionCache self;
};

T5State& t5_state(DecoderState& state) {
  auto* t5 = dynamic_cast<T5State*>(&state);
  if (!t5) throw Error("t5: decoder state was not made by the t5 decoder's start()");
  return *t5;
}

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

T5Decoder::T5Decoder(T5Model model) : model_(std::move(model)) {
  const T5Config& c = model_.config();
  spec_.vocab_size = c.vocab_size;
  spec_.bos_token_id = c.bos_token_id;
  spec_.eos_token_id = c.eos_token_id;
  spec_.pad_token_id = c.pad_token_id;
  spec_.decoder_start_token_id = c.decoder_start_token_id;
  spec_.encoder_decoder = true;
}

T5Decoder::Encoded T5Decoder::encode(const at::Tensor& soft_prompt, const at::Tensor& prompt_ids,
                                     const at::Tensor& prompt_mask, std::vector<at::Tensor>* hidden_states) {
  check_batch(soft_prompt, prompt_ids, prompt_mask, model_.config().d_model);
  const auto options = at::TensorOptions().device(model_.device());
  at::Tensor embeds = soft_prompt.to(model_.device(), model_.dtype());
  at::Tensor mask = at::ones({soft_prompt.size(0), soft_prompt.size(1)}, options.dtype(at::kLong));
  if (prompt_ids.defined() && prompt_ids.size(1) > 0) {
    at::Tensor ids = prompt_ids.to(model_.device(), at::kLong);
    embeds = at::cat({embeds, model_.embed(ids)}, 1);
    at::Tensor text_mask = prompt_mask.defined() ? prompt_mask.to(model_.device(), at::kLong) : at::ones_like(ids);
    mask = at::cat({mask, text_mask}, 1);
  }
  at::Tensor padding_bias = model_.padding_bias(mask);
  return {model_.encode(embeds, padding_bias, hidden_states), padding_bias};
}

TextDecoder::Start T5Decoder::start(const at::Tensor& soft_prompt, const at::Tensor& prompt_ids,
                                    const at::Tensor& prompt_mask) {
  c10::InferenceMode guard;
  Encoded encoded = encode(soft_prompt, prompt_ids, prompt_mask, nullptr);
  auto state = std::make_unique<T5State>();
  state->padding_bias = encoded.padding_bias;
  state->cross = model_.cross_attention_cache(encoded.output);
  state->self = model_.empty_self_attention_cache(soft_prompt.size(0));
  at::Tensor first = at::full({soft_prompt.size(0)}, spec_.decoder_start_token_id,
                              at::TensorOptions().dtype(at::kLong).device(model_.device()));
  at::Tensor logits = step(*state, first);
  return {std::move(state), logits};
}

at::Tensor T5Decoder::step(DecoderState& state, const at::Tensor& tokens) {
  c10::InferenceMode guard;
  T5State& s = t5_state(state);
  at::Tensor ids = tokens.to(model_.device(), at::kLong).reshape({-1});
  if (ids.size(0) != s.padding_bias.size(0))
    throw Error("t5: step() got " + std::to_string(ids.size(0)) + " tokens for " +
                std::to_string(s.padding_bias.size(0)) + " rows");
  return model_.logits(model_.decode_step(ids, s.self, s.cross, s.padding_bias));
}

void T5Decoder::select(DecoderState& state, const at::Tensor& rows) {
  c10::InferenceMode guard;
  T5State& s = t5_state(state);
  at::Tensor index = rows.to(model_.device(), at::kLong).reshape({-1});
  auto take = [&](at::Tensor& t) { t = t.index_select(0, index); };
  take(s.padding_bias);
  for (auto* list : {&s.cross.keys, &s.cross.values, &s.self.keys, &s.self.values})
    for (auto& t : *list) take(t);
}

TextDecoder::Forward T5Decoder::forward(const at::Tensor& soft_prompt, const at::Tensor& prompt_ids,
                                        const at::Tensor& prompt_mask, const at::Tensor& decoder_ids) {
  c10::InferenceMode guard;
  if (!decoder_ids.defined() || decoder_ids.dim() != 2 || decoder_ids.size(0) != soft_prompt.size(0))
    throw Error("t5: forward() needs decoder ids [" + std::to_string(soft_prompt.size(0)) + ", length]");
  Forward out;
  Encoded encoded = encode(soft_prompt, prompt_ids, prompt_mask, &out.encoder_hidden_states);
  CrossAttentionCache cross = model_.cross_attention_cache(encoded.output);
  at::Tensor ids = decoder_ids.to(model_.device(), at::kLong);
  out.logits = model_.logits(model_.decode(ids, cross, encoded.padding_bias, &out.hidden_states));
  return out;
}

std::shared_ptr<TextDecoder> make_t5_decoder(ComponentContext& ctx) {
  const at::ScalarType dtype = parse_dtype(ctx.dtype.empty() ? "fp32" : ctx.dtype);
  if (dtype == at::kHalf)
    throw Error("t5: fp16 is not supported: T5 overflows in float16 (transformers and LAVIS run it in bf16 or fp32); "
                "use dtype bf16 (--dtype bf16) or fp32");
  const c10::Device device = parse_device(ctx.device.empty() ? "cpu" : ctx.device);
  Checkpoint checkpoint = Checkpoint::open(ctx.checkpoint, ctx.weights);
  T5Source source = read_t5_config(checkpoint.folder());
  T5Weights weights = load_t5_weights(checkpoint, source, dtype, device);
  return std::make_shared<T5Decoder>(T5Model(std::move(source.config), std::move(weights)));
}

}  // namespace capbench::t5

CAPBENCH_PLUGIN("t5", TextDecoder, "T5 / Flan-T5 encoder-decoder language model (BLIP-2 language_model.* or a T5 snapshot)",
                capbench::t5::make_t5_decoder)
