#include "core/dtype.h"

#include <torch/cuda.h>

#include "core/error.h"

namespace capbench {

at::ScalarType parse_dtype(const std::string& name) {
  if (name == "fp32" || name == "float32" || name == "float") return at::kFloat;
  if (name == "fp16" || name == "float16" || name == "half") return at::kHalf;
  if (name == "bf16" || name == "bfloat16") return at::kBFloat16;
  throw Error("unknown dtype '" + name + "' (expected fp32, fp16 or bf16)");
}

std::string dtype_name(at::ScalarType dtype) {
  switch (dtype) {
    case at::kFloat: return "fp32";
    case at::kHalf: return "fp16";
    case at::kBFloat16: return "bf16";
    default: return c10::toString(dtype);
  }
}

c10::Device parse_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  c10::Device device(c10::kCPU);
  try {
    device = c10::Device(name);
  } catch (const c10::Error&) {
    throw Error("unknown device '" + name + "' (expected auto, cpu, cuda or cuda:N)");
  }
  if (device.is_cuda() && !torch::cuda::is_available())
    throw Error("device '" + name + "' requested but no CUDA GPU is available (use device = \"cpu\" or \"auto\")");
  if (!device.is_cpu() && !device.is_cuda()) throw Error("unsupported device '" + name + "' (use cpu or cuda)");
  return device;
}

}  // namespace capbench
