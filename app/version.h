#pragma once

namespace capbench {

// The project version CMake was configured with, e.g. "0.1.0".
const char* version();

}  // namespace capbench
