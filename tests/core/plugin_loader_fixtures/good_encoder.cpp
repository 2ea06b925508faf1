// A minimal, well-formed encoder plugin: returns its input flattened to patches.
#include <ATen/ATen.h>

#include "core/plugin_api.h"

namespace {

class EchoEncoder : public capbench::ImageEncoder {
 public:
  Output encode(const at::Tensor& pixel_values, bool) override {
    at::Tensor patches = pixel_values.flatten(2).transpose(1, 2);
    return {patches, patches.select(1, 0), {}};
  }
};

std::shared_ptr<EchoEncoder> make(capbench::ComponentContext& ctx) {
  ctx.settings.get_int("scale", 1);
  return std::make_shared<EchoEncoder>();
}

}  // namespace

CAPBENCH_PLUGIN("echo", ImageEncoder, "test encoder that echoes its pixels", make)
