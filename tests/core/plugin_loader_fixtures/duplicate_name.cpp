// A second plugin that claims the name of good_encoder.cpp's plugin.
#include "core/plugin_api.h"

namespace {
std::shared_ptr<capbench::ImageEncoder> make(capbench::ComponentContext&) { return nullptr; }
}  // namespace

CAPBENCH_PLUGIN("echo", ImageEncoder, "duplicate of the echo test plugin", make)
