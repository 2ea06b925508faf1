// A plugin that declares an ABI version this capbench does not speak.
#include "core/plugin_api.h"

namespace capbench_plugin_exports {
const capbench::PluginInfo* info() {
  static const capbench::PluginInfo i{"future", "encoder", capbench::kPluginAbiVersion + 41, TORCH_VERSION,
                                      "plugin from another ABI"};
  return &i;
}
std::shared_ptr<void> create(capbench::ComponentContext&) { return nullptr; }
}  // namespace capbench_plugin_exports
BOOST_DLL_ALIAS(capbench_plugin_exports::info, capbench_plugin_info)
BOOST_DLL_ALIAS(capbench_plugin_exports::create, capbench_plugin_create)
