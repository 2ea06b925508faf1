#pragma once
// The dtype and device names capbench's files and flags use.
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <string>

namespace capbench {

// "fp32" | "float32", "fp16" | "float16", "bf16" | "bfloat16"; throws Error otherwise.
at::ScalarType parse_dtype(const std::string& name);
std::string dtype_name(at::ScalarType dtype);  // "fp32", "fp16", "bf16", or libtorch's name

// "cpu", "cuda", "cuda:N", or "auto" (cuda when available, else cpu); throws Error
// for unknown names and for cuda when no GPU is present.
c10::Device parse_device(const std::string& name);

}  // namespace capbench
