#pragma once
// The one linear layer of every model: y = act(x W^T + b). Its weight is
// reached only through this class, so that the matrix product of every layer
// (image side, bridge, prefill, decoding steps, lm_head) is chosen in one place:
// on the CPU, nn::PackedLinear (weights packed once for oneDNN, in fp32, bf16 or
// int8); on CUDA, or without oneDNN, libtorch's product.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <memory>
#include <optional>
#include <set>
#include <string>

#include "core/module_loading.h"
#include "core/nn/packed_linear.h"
#include "core/nn/placement.h"

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
  // Applies transformers' activation `name` (nn::activation()) to the output,
  // inside the product where the layer is packed and its output is fp32 (a bf16
  // output is rounded first and activated after, as transformers does); before
  // prepare().
  void set_activation(const std::string& name);
  const std::string& activation() const { return activation_; }

  // Called once, after the weights are loaded and before the first forward()
  // (nn::prepare() calls it for every Linear of a model). With a compute type,
  // the weight is packed for it (CPU tensors, capbench built with oneDNN) and
  // the layer lets go of its source tensors: the parameters become undefined,
  // and the pages of a weight mapped from a checkpoint file leave memory (a
  // tensor shared with another layer, a tied embedding, stays valid). Without
  // one (CUDA, fp16, no oneDNN), libtorch multiplies by the weight as it is.
  // prepare() picks by the weight: packed_compute_for(weight dtype and device).
  void prepare();
  void prepare(std::optional<PackedCompute> compute);
  bool prepared() const { return prepared_; }
  // The packed compute type, or nullopt for libtorch's product.
  std::optional<PackedCompute> compute() const;

  // x [..., in] -> [..., out] in x's dtype. Throws Error before prepare().
  at::Tensor forward(const at::Tensor& x) const;

  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  // Bytes held for the weight and bias (packed or not): what a decoding step reads.
  size_t weight_bytes() const;

 private:
  void release_sources();
  at::Tensor weight_;
  at::Tensor bias_;  // undefined without bias
  int64_t in_ = 0, out_ = 0;
  std::string activation_;
  bool activation_fused_ = false;
  std::unique_ptr<PackedLinear> packed_;
  bool prepared_ = false;
};

// How the linear layers of a model placed at `place` compute: packed on the CPU
// in fp32, bf16 or int8 (dtype fp32, bf16, int8) when capbench has oneDNN,
// else (CUDA, fp16, no oneDNN) nullopt: libtorch's product.
std::optional<PackedCompute> packed_compute_for(const Placement& place);

// Prepares every nn::Linear of `model` (see Linear::prepare) for `place`, or
// without it by each weight's dtype and device. A model calls it once, when
// every weight is loaded and every tied layer is in place.
void prepare(torch::nn::Module& model);
void prepare(torch::nn::Module& model, const Placement& place);

// Names (relative to `model`, as load_module() sees them) of the weights of its
// nn::Linear layers: what LoadOptions::keep_stored lists when prepare() packs
// them, so that they load as views of the file in its own dtype and are
// converted one at a time while packing, never all at once.
std::set<std::string> linear_weight_names(torch::nn::Module& model);

// What a plugin passes to load_module() for `model` at `place`: its dtype and
// device, and the linear weights kept in the file's dtype when they are packed.
LoadOptions load_options(const Placement& place, torch::nn::Module& model);

}  // namespace capbench::nn
