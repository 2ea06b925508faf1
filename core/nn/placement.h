#pragma once
// Where and in what a component computes, from the ComponentContext the host
// hands its factory: one helper for every plugin.
#include <ATen/core/TensorBody.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <map>
#include <string>

#include "core/plugin_api.h"

namespace capbench::nn {

struct Placement {
  c10::Device device{c10::kCPU};
  // Of activations, layer norms, embeddings and KV caches, and of the linear
  // weights unless int8.
  at::ScalarType dtype = at::kFloat;
  // dtype "int8": every linear weight quantized to int8 per output row when the
  // model loads (CPU only); `dtype` is then fp32, or bf16 on a CPU with native
  // bf16 (int8_activation_dtype()).
  bool int8 = false;
  at::TensorOptions options() const { return at::TensorOptions().dtype(dtype).device(device); }
  std::string name() const;  // "fp32", "bf16", "fp16" or "int8"
};

// Parses ctx.device ("" = cpu) and ctx.dtype ("" = fp32; fp32, fp16, bf16 or
// int8), sets up the CPU's threads (every hardware thread unless
// OMP_NUM_THREADS / MKL_NUM_THREADS ask for a number; once per process) and
// checks that the dtype can be computed on the device: int8 is refused on CUDA
// and on a CPU without int8 kernels (check_packed_compute). `refused` lists
// dtypes this component cannot run in, with the reason. Errors begin with
// `component`.
Placement place(const ComponentContext& ctx, const std::string& component,
                const std::map<at::ScalarType, std::string>& refused = {});

// The dtype of everything but the linear weights under dtype "int8": bf16 where
// the CPU computes in bf16 natively (AVX512_BF16, AMX), else fp32.
at::ScalarType int8_activation_dtype();

}  // namespace capbench::nn
