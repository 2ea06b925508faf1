#pragma once
// Finds capbench plugins in directories, checks their ABI version, and creates
// components from them. Loaded libraries are never unloaded: libtorch keeps
// per-library state (operator registrations, allocators) that must outlive every
// tensor a plugin made.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/plugin_api.h"

namespace capbench {

struct PluginRecord {
  std::string name;
  std::string kind;  // "encoder" | "bridge" | "decoder" | "embedder"
  int abi_version = 0;
  std::string torch_version;
  std::string description;
  std::filesystem::path file;
};

class PluginRegistry {
 public:
  // The directories from --plugins when there are any, else those of
  // $CAPBENCH_PLUGIN_PATH (':'-separated) when set, else `plugins/` beside the
  // running binary.
  static std::vector<std::filesystem::path> search_path(const std::vector<std::string>& from_command_line);

  // Loads every shared library (*.so) found in `dirs`. Files that are not
  // capbench plugins of this ABI, and duplicate names, are recorded in problems().
  explicit PluginRegistry(const std::vector<std::filesystem::path>& dirs);

  const std::vector<PluginRecord>& plugins() const { return plugins_; }
  const std::vector<std::string>& problems() const { return problems_; }
  // Throws Error listing problems(), if any.
  void require_no_problems() const;

  const PluginRecord& find(const std::string& name, const std::string& kind) const;

  // Creates a component of plugin `name`; throws Error when it is absent or of another kind.
  template <class Interface>
  std::shared_ptr<Interface> create(const std::string& name, ComponentContext& ctx) const {
    return std::static_pointer_cast<Interface>(create_raw(name, kind_name<Interface>(), ctx));
  }

 private:
  std::shared_ptr<void> create_raw(const std::string& name, const std::string& kind, ComponentContext& ctx) const;

  std::vector<PluginRecord> plugins_;
  std::vector<std::string> problems_;
};

// Loads one file and returns its record; throws Error when it is not a capbench
// plugin or was built for another ABI or libtorch version.
PluginRecord load_plugin_file(const std::filesystem::path& file);

}  // namespace capbench
