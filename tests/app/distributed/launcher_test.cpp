// How capbench run reads its launcher from the environment, which shard a SLURM
// array task takes, which GPU and how many threads a rank takes, where shard
// databases live.
#include <doctest/doctest.h>

#include <map>

#include "app/distributed/launcher.h"
#include "app/distributed/shards.h"
#include "core/error.h"
#include "tests/test_support.h"

using namespace capbench;
using namespace capbench::distributed;
namespace fs = std::filesystem;

namespace {

Environment env(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace

TEST_CASE("an MPI launcher is recognised from its variables; a process started by hand is not") {
  CHECK_FALSE(started_by_mpi_launcher(env({})));
  CHECK(started_by_mpi_launcher(env({{"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_RANK", "0"}})));
  CHECK(started_by_mpi_launcher(env({{"PMIX_RANK", "0"}})));
  CHECK(started_by_mpi_launcher(env({{"PMI_RANK", "0"}, {"PMI_SIZE", "2"}})));
  // srun starting several tasks; a batch script (no step of its own) or a single task is not a job of ranks.
  CHECK(started_by_mpi_launcher(env({{"SLURM_STEP_ID", "0"}, {"SLURM_STEP_NUM_TASKS", "8"}, {"SLURM_PROCID", "3"}})));
  CHECK_FALSE(started_by_mpi_launcher(env({{"SLURM_JOB_ID", "12"}, {"SLURM_NTASKS", "8"}, {"SLURM_PROCID", "0"}})));
  CHECK_FALSE(started_by_mpi_launcher(env({{"SLURM_STEP_ID", "0"}, {"SLURM_STEP_NUM_TASKS", "1"}})));
  CHECK(srun_tasks(env({{"SLURM_STEP_ID", "0"}, {"SLURM_STEP_NUM_TASKS", "8"}})) == 8);
  CHECK(srun_tasks(env({{"SLURM_STEP_NUM_TASKS", "8"}})) == 0);
  // A SLURM job array alone is not MPI.
  CHECK_FALSE(started_by_mpi_launcher(env({{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_COUNT", "4"}})));
}

TEST_CASE("a SLURM array task takes shard (id - min) / step + 1 of the task count") {
  CHECK_FALSE(slurm_array_shard(env({})).has_value());
  // --array=0-3
  for (int id = 0; id < 4; ++id) {
    auto shard = slurm_array_shard(env({{"SLURM_ARRAY_TASK_ID", std::to_string(id)},
                                        {"SLURM_ARRAY_TASK_MIN", "0"},
                                        {"SLURM_ARRAY_TASK_MAX", "3"},
                                        {"SLURM_ARRAY_TASK_COUNT", "4"}}));
    REQUIRE(shard.has_value());
    CHECK(*shard == Shard{id + 1, 4});
  }
  // --array=1-8 (MIN absent: task ids counted from 0 would put task 8 out of range)
  CHECK(*slurm_array_shard(env({{"SLURM_ARRAY_TASK_ID", "8"}, {"SLURM_ARRAY_TASK_MIN", "1"},
                                {"SLURM_ARRAY_TASK_COUNT", "8"}})) == Shard{8, 8});
  // --array=10-40:10 -> ids 10, 20, 30, 40
  CHECK(*slurm_array_shard(env({{"SLURM_ARRAY_TASK_ID", "30"}, {"SLURM_ARRAY_TASK_MIN", "10"},
                                {"SLURM_ARRAY_TASK_STEP", "10"}, {"SLURM_ARRAY_TASK_COUNT", "4"}})) == Shard{3, 4});
  // --array=1,5,9: not a range of COUNT tasks
  CHECK_THROWS_AS(slurm_array_shard(env({{"SLURM_ARRAY_TASK_ID", "5"}, {"SLURM_ARRAY_TASK_MIN", "1"},
                                         {"SLURM_ARRAY_TASK_COUNT", "3"}})),
                  UsageError);
  CHECK_THROWS_AS(slurm_array_shard(env({{"SLURM_ARRAY_TASK_ID", "2"}})), UsageError);
  CHECK_THROWS_AS(slurm_array_shard(env({{"SLURM_ARRAY_TASK_ID", "x"}, {"SLURM_ARRAY_TASK_COUNT", "2"}})), UsageError);
}

TEST_CASE("a rank takes cuda:(local rank mod GPUs) where the experiment leaves the device to capbench") {
  CHECK(rank_device("auto", 0, 4) == "cuda:0");
  CHECK(rank_device("auto", 5, 4) == "cuda:1");
  CHECK(rank_device("cuda", 3, 2) == "cuda:1");
  CHECK(rank_device("cuda:1", 0, 4) == "cuda:1");  // written by the user: kept
  CHECK(rank_device("cpu", 2, 4) == "cpu");
  CHECK(rank_device("auto", 2, 0) == "auto");  // no GPU: auto means the CPU, as for one process
}

TEST_CASE("ranks share a machine's CPUs and stay inside their affinity mask") {
  CHECK(rank_threads(1, 16, 16) == 16);
  CHECK(rank_threads(4, 16, 16) == 4);   // unbound
  CHECK(rank_threads(4, 8, 16) == 4);    // bound to a socket shared with another rank
  CHECK(rank_threads(2, 1, 2) == 1);     // bound to a core
  CHECK(rank_threads(3, 2, 2) == 1);     // oversubscribed
}

TEST_CASE("shard databases live in OUTPUT/shards/K-of-N and are found in order") {
  capbench::testing::TempDir dir;
  CHECK(shard_folder(dir.path(), {2, 3}) == dir.path() / "shards" / "2-of-3");
  CHECK(find_shard_databases(dir.path()).empty());
  for (Shard s : {Shard{2, 3}, Shard{1, 3}, Shard{1, 2}}) {
    fs::create_directories(shard_folder(dir.path(), s));
    capbench::testing::write_text(shard_folder(dir.path(), s) / "results.sqlite", "");
  }
  fs::create_directories(shard_folder(dir.path(), {3, 3}));  // no database yet
  fs::create_directories(dir.path() / "shards" / "notes");
  auto found = find_shard_databases(dir.path());
  REQUIRE(found.size() == 3);
  CHECK(found[0].shard == Shard{1, 2});
  CHECK(found[1].shard == Shard{1, 3});
  CHECK(found[2].shard == Shard{2, 3});
  CHECK(found[2].file == dir.path() / "shards" / "2-of-3" / "results.sqlite");
  CHECK(shard_text({2, 3}) == "2/3");
}
