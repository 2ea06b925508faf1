#include "core/nn/placement.h"

#include <ATen/Parallel.h>
#include <torch/version.h>

#include <cstdlib>
#include <mutex>
#include <thread>

#include "core/dtype.h"
#include "core/error.h"
#include "core/nn/packed_linear.h"

namespace capbench::nn {

namespace {

void use_all_cores() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (std::getenv("OMP_NUM_THREADS") || std::getenv("MKL_NUM_THREADS")) return;
    const unsigned n = std::thread::hardware_concurrency();
    if (n > 0 && at::get_num_threads() != static_cast<int>(n)) at::set_num_threads(static_cast<int>(n));
  });
}

// libtorch 1.x has no fp16 matrix products on the CPU.
void check_compute_dtype(at::ScalarType dtype, const c10::Device& device, const std::string& component) {
#if TORCH_VERSION_MAJOR < 2
  if (device.is_cpu() && dtype == at::kHalf)
    throw Error(component + ": fp16 on the CPU needs libtorch 2 or later (this is " + TORCH_VERSION +
                "); use bf16 or fp32 on the CPU, or fp16 on CUDA");
#else
  (void)dtype;
  (void)device;
  (void)component;
#endif
}

}  // namespace

std::string Placement::name() const { return int8 ? "int8" : dtype_name(dtype); }

at::ScalarType int8_activation_dtype() { return cpu_features().native_bf16 ? at::kBFloat16 : at::kFloat; }

Placement place(const ComponentContext& ctx, const std::string& component,
                const std::map<at::ScalarType, std::string>& refused) {
  Placement p;
  p.device = parse_device(ctx.device.empty() ? "cpu" : ctx.device);
  if (ctx.dtype == "int8") {
    if (!p.device.is_cpu())
      throw Error(component + ": int8 runs on the CPU only (oneDNN); on " + p.device.str() + " use fp16, bf16 or fp32");
    check_packed_compute(PackedCompute::int8, component);
    p.int8 = true;
    p.dtype = int8_activation_dtype();
  } else {
    try {
      p.dtype = parse_dtype(ctx.dtype.empty() ? "fp32" : ctx.dtype);
    } catch (const Error&) {
      throw Error(component + ": unknown dtype '" + ctx.dtype + "' (fp32, fp16, bf16 or int8)");
    }
  }
  if (auto reason = refused.find(p.dtype); reason != refused.end())
    throw Error(component + ": " + dtype_name(p.dtype) + " is not supported: " + reason->second);
  check_compute_dtype(p.dtype, p.device, component);
  use_all_cores();
  return p;
}

}  // namespace capbench::nn
