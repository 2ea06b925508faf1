#include "app/distributed/rank_resources.h"

#include <ATen/Parallel.h>
#include <sched.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <thread>

#include "app/distributed/launcher.h"
#include "app/runner/components.h"

namespace capbench::distributed {

int64_t cuda_devices() { return static_cast<int64_t>(torch::cuda::device_count()); }

int64_t claim_rank_threads(int64_t local_ranks) {
  if (const char* set = std::getenv("OMP_NUM_THREADS")) return std::atoll(set);
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  int64_t machine = std::max<int64_t>(1, std::thread::hardware_concurrency());
  int64_t mine = sched_getaffinity(0, sizeof allowed, &allowed) == 0 ? CPU_COUNT(&allowed) : machine;
  int64_t threads = rank_threads(local_ranks, mine, machine);
  // The plugins take every core unless OMP_NUM_THREADS names a number (nn::place).
  setenv("OMP_NUM_THREADS", std::to_string(threads).c_str(), 1);
  at::set_num_threads(static_cast<int>(threads));
  return threads;
}

void place_on_rank_gpu(Experiment& experiment, int64_t local_rank, int64_t gpus) {
  auto place = [&](ComponentSpec& c) { c.device = rank_device(c.device, local_rank, gpus); };
  for (RunSpec& run : experiment.runs) {
    place(run.encoder);
    place(run.bridge);
    place(run.decoder);
  }
  if (experiment.scorer.enabled) place(experiment.scorer.component);
}

std::string devices_used(const Experiment& experiment) {
  std::set<std::string> devices;
  for (const RunSpec& run : experiment.runs)
    for (const ComponentSpec* c : {&run.encoder, &run.bridge, &run.decoder}) devices.insert(resolve_device(c->device));
  if (experiment.scorer.enabled) devices.insert(resolve_device(experiment.scorer.component.device));
  std::string text;
  for (const std::string& d : devices) text += (text.empty() ? "" : ", ") + d;
  return text;
}

}  // namespace capbench::distributed
