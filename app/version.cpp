#include "app/version.h"

namespace capbench {

// Defined here only, so that a version bump recompiles one file.
const char* version() { return CAPBENCH_VERSION; }

}  // namespace capbench
