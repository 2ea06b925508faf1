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
  at::ScalarType dtype = at::kFloat;
  at::TensorOptions options() const { return at::TensorOptions().dtype(dtype).device(device); }
};

// Parses ctx.device ("" = cpu) and ctx.dtype ("" = fp32), sets up the CPU's
// threads (every hardware thread unless OMP_NUM_THREADS / MKL_NUM_THREADS ask
// for a number; once per process) and checks that the dtype can be computed on
// the device. `refused` lists dtypes this component cannot run in, with the
// reason. Errors begin with `component`.
Placement place(const ComponentContext& ctx, const std::string& component,
                const std::map<at::ScalarType, std::string>& refused = {});

}  // namespace capbench::nn
