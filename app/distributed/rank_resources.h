#pragma once
// What one rank takes of the machine it shares with other ranks: a GPU of its
// own where the experiment leaves the choice to capbench, and its share of the
// CPU threads.
#include <cstdint>
#include <string>

#include "app/experiment/experiment.h"

namespace capbench::distributed {

// CUDA devices this process sees (0 without CUDA).
int64_t cuda_devices();

// Gives this rank, one of `local_ranks` on its machine, its share of the CPUs
// as libtorch's intra-op threads (and OMP_NUM_THREADS, which the plugins
// honour), unless OMP_NUM_THREADS is set already. Returns the thread count.
int64_t claim_rank_threads(int64_t local_ranks);

// Moves every component (and the scorer) whose device is "auto" or "cuda" to
// cuda:(local_rank mod gpus). Run ids do not change: they hash the settings as
// written in the experiment.
void place_on_rank_gpu(Experiment& experiment, int64_t local_rank, int64_t gpus);

// The devices the runs and the scorer will use, e.g. "cuda:1" or "cpu, cuda:0".
std::string devices_used(const Experiment& experiment);

}  // namespace capbench::distributed
