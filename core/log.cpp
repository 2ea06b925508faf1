#include "core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace capbench::log {

void set_verbosity(Verbosity v) {
  static const auto logger = [] {
    auto l = spdlog::stderr_color_mt("capbench");
    l->set_pattern("%^%l%$: %v");
    spdlog::set_default_logger(l);
    return l;
  }();
  switch (v) {
    case Verbosity::quiet: logger->set_level(spdlog::level::warn); break;
    case Verbosity::normal: logger->set_level(spdlog::level::info); break;
    case Verbosity::verbose: logger->set_level(spdlog::level::debug); break;
  }
}

}  // namespace capbench::log
