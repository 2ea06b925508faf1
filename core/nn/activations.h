#pragma once
// transformers' ACT2FN by name: gelu (exact erf), gelu_new / gelu_pytorch_tanh
// (tanh approximation), quick_gelu, relu, silu / swish.
#include <ATen/core/Tensor.h>

#include <string>

namespace capbench::nn {

// Throws Error naming `where` when `name` is not one activation() knows.
void check_activation(const std::string& name, const std::string& where);
at::Tensor activation(const std::string& name, const at::Tensor& x);

}  // namespace capbench::nn
