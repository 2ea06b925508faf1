#include "core/nn/masks.h"

#include <ATen/ATen.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <limits>
#include <string>

#include "core/error.h"

namespace capbench::nn {

double lowest(at::ScalarType dtype) {
  switch (dtype) {
    case at::kFloat: return std::numeric_limits<float>::lowest();
    case at::kDouble: return std::numeric_limits<double>::lowest();
    case at::kHalf: return static_cast<float>(std::numeric_limits<c10::Half>::lowest());
    case at::kBFloat16: return static_cast<float>(std::numeric_limits<c10::BFloat16>::lowest());
    default: throw Error(std::string("no additive mask value for dtype ") + c10::toString(dtype));
  }
}

at::Tensor additive_mask(const at::Tensor& keep, at::ScalarType dtype) {
  return (1 - keep.to(dtype)) * lowest(dtype);
}

at::Tensor key_padding_bias(const at::Tensor& mask, at::ScalarType dtype) {
  return additive_mask(mask.unsqueeze(1).unsqueeze(1), dtype);
}

at::Tensor causal_keep(int64_t length, const c10::Device& device) {
  return at::ones({length, length}, at::TensorOptions().dtype(at::kBool).device(device)).tril();
}

}  // namespace capbench::nn
