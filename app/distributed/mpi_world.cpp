#include "app/distributed/mpi_world.h"

#include "core/error.h"

#if CAPBENCH_WITH_MPI
#include <mpi.h>

#include <vector>
#endif

namespace capbench::distributed {

#if CAPBENCH_WITH_MPI

namespace {

void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(std::string("MPI: ") + what + " failed: " + std::string(text, static_cast<size_t>(length)));
}

}  // namespace

struct MpiWorld::State {
  MPI_Comm local = MPI_COMM_NULL;
  MPI_Request posted = MPI_REQUEST_NULL;
  std::string posted_body;  // kept alive until `posted` completes
};

bool MpiWorld::available() { return true; }

std::unique_ptr<MpiWorld> MpiWorld::join() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) throw Error("MPI is already initialized in this process");
  // Only this thread calls MPI (libtorch's worker threads never do).
  int provided = 0;
  check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  std::unique_ptr<MpiWorld> world(new MpiWorld);
  world->state_ = std::make_unique<State>();
  // Errors come back as codes (and become exceptions) instead of ending the job.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  check(MPI_Comm_rank(MPI_COMM_WORLD, &world->rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &world->size_), "MPI_Comm_size");
  check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, world->rank_, MPI_INFO_NULL, &world->state_->local),
        "MPI_Comm_split_type");
  check(MPI_Comm_rank(world->state_->local, &world->local_rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(world->state_->local, &world->local_size_), "MPI_Comm_size");
  char name[MPI_MAX_PROCESSOR_NAME];
  int length = 0;
  check(MPI_Get_processor_name(name, &length), "MPI_Get_processor_name");
  world->host_.assign(name, static_cast<size_t>(length));
  return world;
}

MpiWorld::~MpiWorld() {
  if (state_->posted != MPI_REQUEST_NULL) MPI_Wait(&state_->posted, MPI_STATUS_IGNORE);
  if (state_->local != MPI_COMM_NULL) MPI_Comm_free(&state_->local);
  MPI_Finalize();
}

void MpiWorld::send(int to, int kind, const std::string& body) {
  check(MPI_Send(body.data(), static_cast<int>(body.size()), MPI_BYTE, to, kind, MPI_COMM_WORLD), "MPI_Send");
}

bool MpiWorld::post(int to, int kind, const std::string& body) {
  if (state_->posted != MPI_REQUEST_NULL) {
    int done = 0;
    check(MPI_Test(&state_->posted, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (!done) return false;
  }
  state_->posted_body = body;
  check(MPI_Isend(state_->posted_body.data(), static_cast<int>(state_->posted_body.size()), MPI_BYTE, to, kind,
                  MPI_COMM_WORLD, &state_->posted),
        "MPI_Isend");
  return true;
}

std::optional<Message> MpiWorld::receive() {
  int waiting = 0;
  MPI_Status status;
  check(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &waiting, &status), "MPI_Iprobe");
  if (!waiting) return std::nullopt;
  int length = 0;
  check(MPI_Get_count(&status, MPI_BYTE, &length), "MPI_Get_count");
  std::vector<char> bytes(static_cast<size_t>(length));
  check(MPI_Recv(bytes.data(), length, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
        "MPI_Recv");
  return Message{status.MPI_SOURCE, status.MPI_TAG, std::string(bytes.begin(), bytes.end())};
}

#else  // built without MPI

struct MpiWorld::State {};

bool MpiWorld::available() { return false; }

std::unique_ptr<MpiWorld> MpiWorld::join() {
  throw Error("started by an MPI launcher, but this capbench was built without MPI "
              "(install libopenmpi-dev and configure with -DCAPBENCH_WITH_MPI=ON)");
}

MpiWorld::~MpiWorld() = default;
void MpiWorld::send(int, int, const std::string&) {}
bool MpiWorld::post(int, int, const std::string&) { return false; }
std::optional<Message> MpiWorld::receive() { return std::nullopt; }

#endif

}  // namespace capbench::distributed
