#pragma once
// The t5 plugin's TextDecoder: a T5 / Flan-T5 language model driven by the host's
// search engine. start() runs the encoder once over [soft prompt; prompt] and
// computes every block's cross-attention keys and values once; step() extends the
// self-attention cache by one position.
#include <memory>

#include "core/plugin_api.h"
#include "plugins/t5/t5_model.h"

namespace capbench::t5 {

class T5Decoder : public TextDecoder {
 public:
  explicit T5Decoder(std::shared_ptr<T5Model> model);

  const DecoderSpec& spec() const override { return spec_; }
  Start start(const at::Tensor& soft_prompt, const at::Tensor& prompt_ids, const at::Tensor& prompt_mask) override;
  Start start_for_steps(const at::Tensor& soft_prompt, const at::Tensor& prompt_ids, const at::Tensor& prompt_mask,
                        int64_t max_new_tokens) override;
  at::Tensor step(DecoderState& state, const at::Tensor& tokens) override;
  void select(DecoderState& state, const at::Tensor& rows) override;
  Forward forward(const at::Tensor& soft_prompt, const at::Tensor& prompt_ids, const at::Tensor& prompt_mask,
                  const at::Tensor& decoder_ids) override;

 private:
  struct Encoded {
    at::Tensor output;        // [B,S,D] after the final norm
    at::Tensor padding_bias;  // [B,1,1,S]
  };
  Encoded encode(const at::Tensor& soft_prompt, const at::Tensor& prompt_ids, const at::Tensor& prompt_mask,
                 std::vector<at::Tensor>* hidden_states);

  std::shared_ptr<T5Model> model_;
  DecoderSpec spec_;
};

// The plugin's factory: reads ctx.checkpoint's config.json and weights on ctx.device
// in ctx.dtype (fp32, bf16 or int8; fp16 is refused).
std::shared_ptr<TextDecoder> make_t5_decoder(ComponentContext& ctx);

}  // namespace capbench::t5
