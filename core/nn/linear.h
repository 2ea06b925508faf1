#pragma once
// The one linear layer of every model: y = x W^T + b. Its weight is reached
// only through this class, so that the matrix product of every layer (image
// side, bridge, prefill, decoding steps, lm_head) is chosen in one place.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

namespace capbench::nn {

class Linear : public torch::nn::Module {
 public:
  // Parameters "weight" [out, in] and, with_bias, "bias" [out], uninitialised
  // until load_module() fills them from a checkpoint.
  Linear(int64_t in_features, int64_t out_features, bool with_bias = true);
  // A layer over tensors that already hold the weights (a tied lm_head, tests).
  // The tensors are registered as the parameters "weight" and "bias".
  explicit Linear(const at::Tensor& weight, const at::Tensor& bias = {});

  // Replaces the bias before prepare(), e.g. a bias assembled from parts stored
  // separately in the checkpoint; the new bias is not a parameter.
  void set_bias(const at::Tensor& bias);

  // Called once, after the weights are loaded and before the first forward()
  // (nn::prepare() calls it for every Linear of a model). This is where a
  // weight is put into the layout its matrix product wants.
  void prepare();
  bool prepared() const { return prepared_; }

  // x [..., in] -> [..., out] by the fastest of libtorch's paths for the
  // number of rows of x. Throws Error before prepare().
  at::Tensor forward(const at::Tensor& x) const;

  int64_t in_features() const { return weight_.size(1); }
  int64_t out_features() const { return weight_.size(0); }
  const at::Tensor& weight() const { return weight_; }
  const at::Tensor& bias() const { return bias_; }

 private:
  at::Tensor weight_;
  at::Tensor bias_;  // undefined without bias
  bool prepared_ = false;
};

// Prepares every nn::Linear of `model` (see Linear::prepare). A model calls it
// once, when every weight is loaded and every tied layer is in place.
void prepare(torch::nn::Module& model);

}  // namespace capbench::nn
