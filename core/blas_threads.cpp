// libtorch already splits work across cores with its own OpenMP pool. When
// libblas.so.3 is OpenBLAS, each of those threads would start OpenBLAS's own
// threads too: on a small machine the two pools fight and a decoding step gets
// several times slower. So OpenBLAS runs single-threaded inside libtorch's
// threads, unless the user asked for something else.
#include <cstdlib>
#include <dlfcn.h>

namespace {

const bool kOpenBlasSingleThreaded = [] {
  if (std::getenv("OPENBLAS_NUM_THREADS") || std::getenv("GOTO_NUM_THREADS")) return false;
  using SetThreads = void (*)(int);
  auto set_threads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (set_threads == nullptr) return false;  // another BLAS: nothing to do
  set_threads(1);
  return true;
}();

}  // namespace
