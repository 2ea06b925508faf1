#include "core/nn/embedding.h"

#include <ATen/ATen.h>

namespace capbench::nn {

Embedding::Embedding(int64_t rows, int64_t dim) {
  weight_ = register_parameter("weight", at::empty({rows, dim}), false);
}

at::Tensor Embedding::forward(const at::Tensor& ids) const { return at::embedding(weight_, ids); }

at::Tensor Embedding::rows(int64_t first, int64_t count) const { return weight_.narrow(0, first, count); }

}  // namespace capbench::nn
