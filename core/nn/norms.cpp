#include "core/nn/norms.h"

#include <ATen/ATen.h>

namespace capbench::nn {

LayerNorm::LayerNorm(int64_t dim, double eps, bool elementwise_affine) : dim_(dim), eps_(eps) {
  if (!elementwise_affine) return;
  weight_ = register_parameter("weight", at::empty({dim}), false);
  bias_ = register_parameter("bias", at::empty({dim}), false);
}

at::Tensor LayerNorm::forward(const at::Tensor& x) const { return at::layer_norm(x, {dim_}, weight_, bias_, eps_); }

RMSNorm::RMSNorm(int64_t dim, double eps) : eps_(eps) {
  weight_ = register_parameter("weight", at::empty({dim}), false);
}

at::Tensor RMSNorm::forward(const at::Tensor& x) const {
  const at::Tensor xf = x.to(at::kFloat);
  const at::Tensor variance = xf.pow(2).mean(-1, /*keepdim=*/true);
  at::Tensor h = xf * at::rsqrt(variance + eps_);
  if (weight_.scalar_type() == at::kHalf || weight_.scalar_type() == at::kBFloat16) h = h.to(weight_.scalar_type());
  return weight_ * h;
}

}  // namespace capbench::nn
