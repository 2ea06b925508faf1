#pragma once
// Building blocks for inference-only transformer modules whose parameter names
// are those of Hugging Face checkpoints, so that load_module() fills them.
// Parameters are created uninitialised (at::empty) and receive their values
// from the checkpoint; nothing here is trained.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/nn/module.h>

#include <string>

namespace capbench::nn {

// y = x W^T + b for x [..., in], weight [out, in], bias [out] or undefined, by
// the fastest of libtorch's CPU paths for the number of rows of x (see layers.cpp).
at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias = {});

// y = x W^T + b with parameters "weight" [out, in] and, optionally, "bias" [out].
class Linear : public torch::nn::Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool with_bias = true);
  at::Tensor forward(const at::Tensor& x) const;
  at::Tensor weight;
  at::Tensor bias;  // undefined without bias
};

// LayerNorm over the last dimension with parameters "weight" and "bias"
// (none when not elementwise_affine).
class LayerNorm : public torch::nn::Module {
 public:
  LayerNorm(int64_t dim, double eps, bool elementwise_affine = true);
  at::Tensor forward(const at::Tensor& x) const;
  at::Tensor weight;  // undefined without elementwise_affine
  at::Tensor bias;    // undefined without elementwise_affine
  int64_t dim;
  double eps;
};

// Throws Error naming `where` when transformers' ACT2FN name `name` is not one
// activation() knows: gelu (exact erf), gelu_new / gelu_pytorch_tanh (tanh
// approximation), quick_gelu, relu, silu / swish.
void check_activation(const std::string& name, const std::string& where);
at::Tensor activation(const std::string& name, const at::Tensor& x);

// Multi-head attention without mask: softmax(q k^T / sqrt(d)) v for q [B,H,Tq,d],
// k and v [B,H,Tk,d]; returns the heads concatenated, [B,Tq,H*d].
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);

// [B,T,H*d] -> [B,H,T,d] as a view.
at::Tensor split_heads(const at::Tensor& x, int64_t heads);

// Throws Error naming `where` when libtorch cannot compute in `dtype` on
// `device` (fp16 matrix products on the CPU need libtorch >= 2).
void check_compute_dtype(at::ScalarType dtype, const c10::Device& device, const std::string& where);

// Threads for intra-op parallelism: every hardware thread unless
// OMP_NUM_THREADS / MKL_NUM_THREADS ask for a number (called once per process).
void use_all_cores();

}  // namespace capbench::nn
