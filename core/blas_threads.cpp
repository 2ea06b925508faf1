// libtorch splits work across cores with its OpenMP pool, and calls BLAS both
// outside and inside its parallel regions. OpenBLAS built for OpenMP shares
// that pool (and runs single-threaded inside a parallel region): nothing to do.
// OpenBLAS built with pthreads keeps a pool of its own; on a small machine the
// two pools fight and a decoding step gets several times slower, so that build
// runs single-threaded, unless the user asked for something else.
#include <cstdlib>
#include <dlfcn.h>

namespace {

constexpr int kOpenBlasOpenMp = 2;  // openblas_get_parallel(): 0 sequential, 1 pthreads, 2 OpenMP

const bool kOpenBlasSingleThreaded = [] {
  if (std::getenv("OPENBLAS_NUM_THREADS") || std::getenv("GOTO_NUM_THREADS")) return false;
  using SetThreads = void (*)(int);
  using GetParallel = int (*)();
  auto set_threads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  auto get_parallel = reinterpret_cast<GetParallel>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  if (set_threads == nullptr) return false;  // another BLAS: nothing to do
  if (get_parallel != nullptr && get_parallel() == kOpenBlasOpenMp) return false;
  set_threads(1);
  return true;
}();

}  // namespace
