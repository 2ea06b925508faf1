#pragma once
// Additive attention masks as transformers builds them: 0 where a key may be
// attended to, torch.finfo(dtype).min where it may not.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace capbench::nn {

// torch.finfo(dtype).min of a floating dtype (from c10's numeric limits);
// throws Error for other dtypes.
double lowest(at::ScalarType dtype);

// (1 - keep) * lowest(dtype): keep is a 0/1 (or bool) mask of any shape; the
// result has its shape and `dtype`.
at::Tensor additive_mask(const at::Tensor& keep, at::ScalarType dtype);

// A padding mask [B,T] (1 = token, 0 = padding) as the additive key bias
// [B,1,1,T] every query of a row shares.
at::Tensor key_padding_bias(const at::Tensor& mask, at::ScalarType dtype);

// [T,T] bool, true where key <= query: what a causal decoder may attend to.
at::Tensor causal_keep(int64_t length, const c10::Device& device);

}  // namespace capbench::nn
