#pragma once
// How `capbench run` was started, read from the environment before anything
// else happens: by an MPI launcher (mpirun, srun with PMI), as one task of a
// SLURM job array, or by hand. A binary built with MPI must still start as a
// plain process, so MPI_Init is called only when a launcher says so.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace capbench::distributed {

// The value of an environment variable, nullopt when unset.
using Environment = std::function<std::optional<std::string>(const std::string& name)>;

// This process's environment.
Environment process_environment();

// One deterministic share of a dataset's images: K of N (1-based), as `--shard K/N`.
struct Shard {
  int64_t index = 1;
  int64_t count = 1;
  bool operator==(const Shard& other) const { return index == other.index && count == other.count; }
};

// "K/N" for messages and the runner's metadata.
std::string shard_text(const Shard& shard);

// True when an MPI launcher started this process: Open MPI's mpirun
// (OMPI_COMM_WORLD_SIZE), a PMIx or PMI launcher (PMIX_RANK, PMI_RANK), or srun
// starting several tasks (SLURM_STEP_NUM_TASKS > 1). One process started by hand
// inside an allocation (an sbatch script, salloc) is not.
bool started_by_mpi_launcher(const Environment& env);

// The tasks srun started in this job step (0 outside srun): an MPI world of
// another size means srun could not hand the ranks to MPI.
int64_t srun_tasks(const Environment& env);

// The shard of a SLURM job-array task: task ids MIN, MIN+STEP, ... are shards
// 1, 2, ... of SLURM_ARRAY_TASK_COUNT. nullopt outside a job array; UsageError
// when the variables do not describe such a range.
std::optional<Shard> slurm_array_shard(const Environment& env);

// The device a rank uses for a component whose experiment says `device`: with
// `gpus` GPUs on its machine, "auto" and "cuda" become cuda:(local_rank mod gpus);
// anything else (cpu, cuda:N, no GPU) stays as written.
std::string rank_device(const std::string& device, int64_t local_rank, int64_t gpus);

// Intra-op threads for one of `local_ranks` processes sharing a machine of
// `machine_cpus` CPUs, when this process may run on `allowed_cpus` of them (its
// affinity mask, narrower when the launcher binds ranks to cores or sockets).
int64_t rank_threads(int64_t local_ranks, int64_t allowed_cpus, int64_t machine_cpus);

}  // namespace capbench::distributed
