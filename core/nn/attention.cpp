#include "core/nn/attention.h"

#include <ATen/ATen.h>
#include <torch/version.h>

#include <cmath>

#include "core/nn/masks.h"

namespace capbench::nn {

void ScoreScale::apply_(at::Tensor& scores) const {
  switch (kind_) {
    case Kind::none: return;
    case Kind::times: scores.mul_(value_); return;
    case Kind::divided_by: scores.div_(value_); return;
  }
}

double ScoreScale::factor() const {
  switch (kind_) {
    case Kind::times: return value_;
    case Kind::divided_by: return 1.0 / value_;
    case Kind::none: break;
  }
  return 1.0;
}

namespace {

at::Tensor softmax(const at::Tensor& scores, SoftmaxPrecision precision) {
  const at::ScalarType dtype = scores.scalar_type();
  const bool in_float32 = dtype != at::kFloat && (precision == SoftmaxPrecision::float32 ||
                                                  (precision == SoftmaxPrecision::float32_for_fp16 && dtype == at::kHalf));
  return in_float32 ? at::softmax(scores, -1, at::kFloat).to(dtype) : at::softmax(scores, -1);
}

#if TORCH_VERSION_MAJOR >= 2
// libtorch 2's fused kernel computes exactly softmax(q k^T / sqrt(d)) v in the
// input dtype: usable when nothing else is asked.
bool fused_kernel_fits(const at::Tensor& q, const at::Tensor& bias, const AttentionSpec& spec) {
  const double standard = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  return !bias.defined() && spec.softmax == SoftmaxPrecision::input &&
         std::abs(spec.scale.factor() - standard) <= 1e-12 * standard;
}
#endif

}  // namespace

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias,
                     const AttentionSpec& spec) {
#if TORCH_VERSION_MAJOR >= 2
  if (fused_kernel_fits(q, bias, spec)) return merge_heads(at::scaled_dot_product_attention(q, k, v));
#endif
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1));
  spec.scale.apply_(scores);
  if (bias.defined()) scores.add_(bias);
  if (spec.clamp_at_lowest && scores.scalar_type() == at::kHalf) scores.clamp_min_(lowest(at::kHalf));
  return merge_heads(at::matmul(softmax(scores, spec.softmax), v));
}

at::Tensor split_heads(const at::Tensor& x, int64_t heads) {
  return x.view({x.size(0), x.size(1), heads, x.size(2) / heads}).transpose(1, 2);
}

at::Tensor merge_heads(const at::Tensor& x) {
  return x.transpose(1, 2).reshape({x.size(0), x.size(2), x.size(1) * x.size(3)});
}

}  // namespace capbench::nn
