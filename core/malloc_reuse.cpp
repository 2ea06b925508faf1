// glibc gives every large allocation its own mapping and unmaps it on free, so
// a tensor or a oneDNN scratch buffer of a few MB allocated per layer call is
// page-faulted in afresh each time. On virtual machines a page fault is slow
// enough that this cost more than the arithmetic (a 100 MB buffer: ~250 ms).
// So freed memory stays in the process for reuse: no per-allocation mappings,
// no trimming of the heap. Peak memory is unchanged; memory freed after the
// peak is not returned to the system before exit. Any MALLOC_* setting in the
// environment means the user chose: nothing is changed then.
#include <malloc.h>

#include <cstdlib>
#include <cstring>

extern char** environ;

namespace {

bool user_set_malloc_options() {
  for (char** e = environ; e && *e; ++e)
    if (std::strncmp(*e, "MALLOC_", 7) == 0 || std::strncmp(*e, "GLIBC_TUNABLES=", 15) == 0) return true;
  return false;
}

const bool kMallocKeepsMemory = [] {
  if (user_set_malloc_options()) return false;
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, -1);  // -1: never trim (the value is taken as unsigned)
  return true;
}();

}  // namespace
