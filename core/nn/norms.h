#pragma once
// The normalisations of the five models, with the parameter names of their
// checkpoints.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

namespace capbench::nn {

// LayerNorm over the last dimension with parameters "weight" and "bias"
// (none when not elementwise_affine: OPT-350m-style checkpoints).
class LayerNorm : public torch::nn::Module {
 public:
  LayerNorm(int64_t dim, double eps, bool elementwise_affine = true);
  at::Tensor forward(const at::Tensor& x) const;

 private:
  at::Tensor weight_, bias_;  // undefined without elementwise_affine
  int64_t dim_;
  double eps_;
};

// T5's RMS norm (T5LayerNorm): x / sqrt(mean(x^2) + eps) * weight, without mean
// subtraction or bias, the mean square taken in float32 and the result cast
// back to a half-precision weight's dtype before the product, as transformers does.
class RMSNorm : public torch::nn::Module {
 public:
  RMSNorm(int64_t dim, double eps);
  at::Tensor forward(const at::Tensor& x) const;

 private:
  at::Tensor weight_;
  double eps_;
};

}  // namespace capbench::nn
