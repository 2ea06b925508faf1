#pragma once
// A CPU linear layer whose weight is prepared once, when the model loads, into
// the layout oneDNN's kernels read fastest, in fp32, bf16 or int8; every call
// after that only reads it (no per-call packing or reordering of the weight).
//
//   nn::PackedLinear fc1(weight, bias, nn::PackedCompute::int8, nn::FusedActivation::gelu_erf);
//   at::Tensor y = fc1.forward(x);   // x [..., in] fp32 or bf16 -> y [..., out], same dtype
//
// CPU only: on CUDA the caller keeps nn::linear. Needs capbench built with
// oneDNN (packed_linear_available()); check_packed_compute() says whether this
// CPU can run a compute type.
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>

#include "core/nn/quantize_int8.h"

namespace capbench::nn {

// How the product is computed:
//   fp32  fp32 weights, fp32 arithmetic (oneDNN's strict fp32 math: no
//         reduced-precision shortcuts), as close to at::linear as a different
//         summation order allows;
//   bf16  bf16 weights and inputs, fp32 accumulation, on CPUs where oneDNN has
//         bf16 kernels (AVX-512 and up; AVX512_BF16 / AMX make them fast); on
//         other CPUs weights and inputs are rounded to bf16 and multiplied in
//         fp32 (the same results up to summation order, twice the weight memory);
//   int8  weights quantized once per output row (quantize_rows_int8), inputs
//         quantized per call per row ("per token", scale max|x_row| / 127),
//         int8 x int8 -> int32, dequantized to fp32. Without VNNI oneDNN halves
//         the weights before its AVX2 products to keep 16-bit sums from
//         saturating, so they carry 7 bits (int8_weight_bits()).
enum class PackedCompute { fp32, bf16, int8 };

PackedCompute parse_packed_compute(const std::string& name);  // "fp32" | "bf16" | "int8"; throws Error
std::string packed_compute_name(PackedCompute compute);

// Activations applied to the product inside the same oneDNN call.
enum class FusedActivation { none, relu, gelu_erf, gelu_tanh, quick_gelu, silu };

// The fused form of a transformers ACT2FN name that nn::activation() knows
// (gelu, gelu_new, gelu_pytorch_tanh, quick_gelu, relu, silu, swish); throws
// Error naming `where` otherwise.
FusedActivation fused_activation(const std::string& name, const std::string& where);

// What the CPU offers oneDNN, as oneDNN sees it.
struct CpuFeatures {
  std::string isa;            // oneDNN's effective ISA, e.g. "avx2", "avx512_core_bf16"; "" without oneDNN
  bool int8 = false;          // oneDNN has int8 kernels here (AVX2 and up)
  bool vnni = false;          // AVX512_VNNI or AVX_VNNI: int8 weights keep 8 bits
  bool bf16_kernels = false;  // oneDNN computes in bf16 here (AVX-512 and up)
  bool native_bf16 = false;   // the CPU multiplies bf16 itself (AVX512_BF16, AMX): bf16 is fast
};
CpuFeatures cpu_features();

bool packed_linear_available();  // capbench was built with oneDNN

// Throws Error (one line, naming `where`) when `compute` cannot run on a CPU
// with `features`: every type without oneDNN, int8 below AVX2. The overload
// without features checks this machine (what the CLI calls for --dtype int8).
void check_packed_compute(PackedCompute compute, const std::string& where, const CpuFeatures& features);
void check_packed_compute(PackedCompute compute, const std::string& where);

// Bits that carry the int8 weights in the product on this CPU: 8 with VNNI, 7
// without (see PackedCompute).
int int8_weight_bits();

class PackedLinear {
 public:
  // weight [out, in] and bias [out] (or undefined), fp32, bf16 or fp16 on the
  // CPU, any strides. Neither is referenced afterwards: the caller may free them.
  PackedLinear(const at::Tensor& weight, const at::Tensor& bias, PackedCompute compute,
               FusedActivation activation = FusedActivation::none);
  // int8 from rows quantized beforehand (a loader that quantizes tensor by
  // tensor); bias as above.
  PackedLinear(const Int8Rows& weight, const at::Tensor& bias, FusedActivation activation = FusedActivation::none);
  ~PackedLinear();
  PackedLinear(PackedLinear&&) noexcept;
  PackedLinear& operator=(PackedLinear&&) noexcept;

  // y = act(x W^T + b) for x [..., in] in fp32 or bf16 on the CPU, any strides;
  // y [..., out] in x's dtype. One model is used from one thread at a time (calls
  // on one layer are serialised).
  at::Tensor forward(const at::Tensor& x) const;

  int64_t in_features() const;
  int64_t out_features() const;
  PackedCompute compute() const;
  // The oneDNN kernel that computes `rows` rows, e.g. "jit_uni_int8_1x1:avx2"
  // (prepares it when not yet cached).
  std::string kernel(int64_t rows) const;
  // Bytes held for the weight (packed values, scales, compensation) and bias.
  size_t weight_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace capbench::nn
