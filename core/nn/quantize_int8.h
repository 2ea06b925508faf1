#pragma once
// Symmetric int8 quantization of a matrix, one scale per row: the weight format
// of nn::PackedLinear's int8 compute (one scale per output feature).
#include <ATen/core/Tensor.h>

namespace capbench::nn {

struct Int8Rows {
  at::Tensor values;  // int8 [rows, cols], in [-127, 127]
  at::Tensor scales;  // fp32 [rows]; row r stands for values[r] * scales[r]
};

// scale_r = max_c |m_rc| / 127 and q_rc = round(m_rc / scale_r), ties to even;
// a row of zeros gets scale 0 and zeros. `matrix` is [rows, cols] in fp32, bf16 or
// fp16 on the CPU, any strides (a memory-mapped checkpoint tensor): it is read in
// blocks of rows, so the temporaries stay small next to the matrix.
Int8Rows quantize_rows_int8(const at::Tensor& matrix);

// values * scales[:, None] in fp32: what the quantized matrix stands for.
at::Tensor dequantize_rows_int8(const Int8Rows& rows);

}  // namespace capbench::nn
