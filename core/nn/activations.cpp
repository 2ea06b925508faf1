#include "core/nn/activations.h"

#include <ATen/ATen.h>

#include "core/error.h"

namespace capbench::nn {

namespace {
bool known_activation(const std::string& name) {
  return name == "gelu" || name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "quick_gelu" ||
         name == "relu" || name == "silu" || name == "swish";
}
}  // namespace

void check_activation(const std::string& name, const std::string& where) {
  if (!known_activation(name))
    throw Error(where + ": activation '" + name +
                "' is not supported (gelu, gelu_new, gelu_pytorch_tanh, quick_gelu, relu, silu)");
}

at::Tensor activation(const std::string& name, const at::Tensor& x) {
  if (name == "gelu") return at::gelu(x);
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return at::gelu(x, "tanh");
  if (name == "quick_gelu") return x * at::sigmoid(x * 1.702);
  if (name == "relu") return at::relu(x);
  if (name == "silu" || name == "swish") return at::silu(x);
  throw Error("activation '" + name + "' is not supported");
}

}  // namespace capbench::nn
