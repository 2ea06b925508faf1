#include "core/nn/quantize_int8.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "core/error.h"

namespace capbench::nn {

namespace {
// Rows converted to fp32 at a time: a few MB of temporaries for the widest
// matrices of the models (a 50272 x 2560 lm_head reads 64 rows = 640 KB at once).
constexpr int64_t kRowsPerBlock = 64;
}  // namespace

Int8Rows quantize_rows_int8(const at::Tensor& matrix) {
  if (matrix.dim() != 2 || !matrix.device().is_cpu() ||
      (matrix.scalar_type() != at::kFloat && matrix.scalar_type() != at::kBFloat16 &&
       matrix.scalar_type() != at::kHalf))
    throw Error("int8 quantization needs a 2-d fp32, bf16 or fp16 CPU tensor, got " + matrix.toString() + " " +
                std::to_string(matrix.dim()) + "-d");
  const int64_t rows = matrix.size(0), cols = matrix.size(1);
  Int8Rows out{at::empty({rows, cols}, at::kChar), at::empty({rows}, at::kFloat)};
  for (int64_t begin = 0; begin < rows; begin += kRowsPerBlock) {
    const int64_t end = std::min(rows, begin + kRowsPerBlock);
    const at::Tensor block = matrix.slice(0, begin, end).to(at::kFloat);
    const at::Tensor scale = block.abs().amax({1}) / 127.0;
    // A zero row divides by 1 instead of 0: its values are 0 either way.
    const at::Tensor divisor = at::where(scale > 0, scale, at::ones_like(scale));
    out.values.slice(0, begin, end).copy_(block.div(divisor.unsqueeze(1)).round_().clamp_(-127, 127));
    out.scales.slice(0, begin, end).copy_(scale);
  }
  return out;
}

at::Tensor dequantize_rows_int8(const Int8Rows& rows) {
  return rows.values.to(at::kFloat).mul_(rows.scales.unsqueeze(1));
}

}  // namespace capbench::nn
