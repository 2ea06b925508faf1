#pragma once
// Logging for the host and plugins. One logger, shared through libcapbench_core,
// writing to stderr so that stdout stays for results (tables, JSON, CSV).
#include <spdlog/spdlog.h>

namespace capbench::log {

enum class Verbosity { quiet, normal, verbose };

void set_verbosity(Verbosity v);

using spdlog::debug;
using spdlog::error;
using spdlog::info;
using spdlog::warn;

}  // namespace capbench::log
