#include "app/distributed/launcher.h"

#include <algorithm>
#include <cstdlib>

#include "core/error.h"

namespace capbench::distributed {

namespace {

// A non-negative integer variable; UsageError when set to anything else.
std::optional<int64_t> integer(const Environment& env, const std::string& name) {
  std::optional<std::string> text = env(name);
  if (!text) return std::nullopt;
  if (text->empty() || text->find_first_not_of("0123456789") != std::string::npos || text->size() > 18)
    throw UsageError(name + "='" + *text + "' is not a non-negative integer");
  return std::stoll(*text);
}

}  // namespace

Environment process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
  };
}

std::string shard_text(const Shard& shard) { return std::to_string(shard.index) + "/" + std::to_string(shard.count); }

bool started_by_mpi_launcher(const Environment& env) {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (env(name)) return true;
  return srun_tasks(env) > 1;
}

int64_t srun_tasks(const Environment& env) {
  // SLURM_STEP_ID marks a process started by srun; a batch script has no step of its own.
  if (!env("SLURM_STEP_ID")) return 0;
  return integer(env, "SLURM_STEP_NUM_TASKS").value_or(0);
}

std::optional<Shard> slurm_array_shard(const Environment& env) {
  std::optional<int64_t> id = integer(env, "SLURM_ARRAY_TASK_ID");
  if (!id) return std::nullopt;
  std::optional<int64_t> count = integer(env, "SLURM_ARRAY_TASK_COUNT");
  if (!count || *count < 1)
    throw UsageError("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not (a SLURM job array sets both)");
  int64_t min = integer(env, "SLURM_ARRAY_TASK_MIN").value_or(0);
  int64_t step = std::max<int64_t>(1, integer(env, "SLURM_ARRAY_TASK_STEP").value_or(1));
  const std::string range = "SLURM_ARRAY_TASK_ID=" + std::to_string(*id) + " with MIN=" + std::to_string(min) +
                            ", STEP=" + std::to_string(step) + ", COUNT=" + std::to_string(*count);
  if (*id < min || (*id - min) % step != 0 || (*id - min) / step >= *count)
    throw UsageError(range + " is not one of MIN, MIN+STEP, ... (COUNT tasks): give the array as one range, "
                             "e.g. --array=1-" + std::to_string(*count) + ", or use --shard K/N");
  return Shard{(*id - min) / step + 1, *count};
}

std::string rank_device(const std::string& device, int64_t local_rank, int64_t gpus) {
  if (gpus < 1 || (device != "auto" && device != "cuda")) return device;
  return "cuda:" + std::to_string(local_rank % gpus);
}

int64_t rank_threads(int64_t local_ranks, int64_t allowed_cpus, int64_t machine_cpus) {
  int64_t share = machine_cpus / std::max<int64_t>(1, local_ranks);
  return std::max<int64_t>(1, std::min(allowed_cpus, share));
}

}  // namespace capbench::distributed
