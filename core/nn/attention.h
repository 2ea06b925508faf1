#pragma once
// Multi-head attention as the five reference models compute it: one function,
// with the scaling, the additive mask or bias and the softmax precision each
// model's transformers code uses.
#include <ATen/core/Tensor.h>

namespace capbench::nn {

// How the scores q k^T are scaled before the bias is added.
class ScoreScale {
 public:
  static ScoreScale none() { return {Kind::none, 1.0}; }                     // T5 (folded into its weights)
  static ScoreScale times(double factor) { return {Kind::times, factor}; }   // the ViT: * head_dim^-0.5
  static ScoreScale divided_by(double divisor) { return {Kind::divided_by, divisor}; }  // BERT, Q-Former: / sqrt(head_dim)
  void apply_(at::Tensor& scores) const;
  double factor() const;  // the multiplier it amounts to

 private:
  enum class Kind { none, times, divided_by };
  ScoreScale(Kind kind, double value) : kind_(kind), value_(value) {}
  Kind kind_;
  double value_;
};

// The dtype the softmax is computed in.
enum class SoftmaxPrecision {
  input,             // the scores' dtype (BERT, the ViT, the Q-Former)
  float32_for_fp16,  // float32 for fp16 scores, else their dtype (OPT)
  float32,           // always float32, then back to the scores' dtype (T5)
};

struct AttentionSpec {
  ScoreScale scale = ScoreScale::none();
  SoftmaxPrecision softmax = SoftmaxPrecision::input;
  // OPT clamps the masked scores at the dtype's lowest value, so that fp16
  // scores + mask never reach -inf (a no-op in fp32 and bf16, skipped there).
  bool clamp_at_lowest = false;
};

// softmax(scale(q k^T) + bias) v for q [B,H,Tq,d] and k, v [B,H,Tk,d] (views
// are fine: a cache's filled prefix is read in place). bias (undefined: none)
// broadcasts to [B,H,Tq,Tk]: an additive mask (core/nn/masks.h), T5's relative
// position bias, or their sum. Returns the heads merged: [B,Tq,H*d].
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias,
                     const AttentionSpec& spec);

// [B,T,H*d] -> [B,H,T,d], a view.
at::Tensor split_heads(const at::Tensor& x, int64_t heads);
// [B,H,T,d] -> [B,T,H*d].
at::Tensor merge_heads(const at::Tensor& x);

}  // namespace capbench::nn
