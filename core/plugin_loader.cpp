#include "core/plugin_loader.h"

#include <boost/dll/import.hpp>
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <cstdlib>
#include <map>
#include <mutex>
#include <sstream>

#include "core/error.h"

namespace capbench {
namespace fs = std::filesystem;

namespace {

// Every library ever loaded, by canonical path; deliberately leaked so that no
// plugin is unloaded before exit.
struct LoadedLibrary {
  boost::dll::shared_library library;
  PluginCreateFn* create = nullptr;
};
std::map<fs::path, LoadedLibrary>& loaded_libraries() {
  static auto* libs = new std::map<fs::path, LoadedLibrary>();
  return *libs;
}
std::mutex& loader_mutex() {
  static auto* m = new std::mutex();
  return *m;
}

}  // namespace

PluginRecord load_plugin_file(const fs::path& file) {
  std::lock_guard<std::mutex> lock(loader_mutex());
  std::error_code ec;
  fs::path key = fs::weakly_canonical(file, ec);
  if (ec) key = file;
  auto& libs = loaded_libraries();
  auto it = libs.find(key);
  if (it == libs.end()) {
    boost::dll::shared_library lib;
    boost::dll::fs::error_code dll_ec;
    lib.load(key, boost::dll::load_mode::default_mode, dll_ec);
    if (dll_ec) throw Error(file.string() + ": cannot be loaded as a shared library: " + dll_ec.message());
    it = libs.emplace(key, LoadedLibrary{std::move(lib), nullptr}).first;
  }
  LoadedLibrary& loaded = it->second;
  if (!loaded.library.has("capbench_plugin_info") || !loaded.library.has("capbench_plugin_create"))
    throw Error(file.string() + ": not a capbench plugin (it exports no capbench_plugin_info/capbench_plugin_create)");
  // Aliases are pointers to the functions; read the info before trusting anything else.
  PluginInfoFn* info_fn = *loaded.library.get<PluginInfoFn*>("capbench_plugin_info");
  const PluginInfo* info = info_fn();
  if (info == nullptr) throw Error(file.string() + ": plugin returned no description");
  if (info->abi_version != kPluginAbiVersion) {
    std::ostringstream os;
    os << file.string() << ": plugin ABI version " << info->abi_version << ", but this capbench needs ABI version "
       << kPluginAbiVersion << " (rebuild the plugin against this capbench)";
    throw Error(os.str());
  }
  if (std::string(info->torch_version) != TORCH_VERSION)
    throw Error(file.string() + ": plugin built with libtorch " + info->torch_version + ", but this capbench uses " +
                TORCH_VERSION + " (rebuild the plugin)");
  loaded.create = *loaded.library.get<PluginCreateFn*>("capbench_plugin_create");
  return PluginRecord{info->name, info->kind, info->abi_version, info->torch_version, info->description, key};
}

std::vector<fs::path> PluginRegistry::search_path(const std::vector<std::string>& from_command_line) {
  std::vector<fs::path> dirs(from_command_line.begin(), from_command_line.end());
  if (!dirs.empty()) return dirs;  // --plugins replaces the environment, as --help says
  if (const char* env = std::getenv("CAPBENCH_PLUGIN_PATH")) {
    std::stringstream ss(env);
    std::string dir;
    while (std::getline(ss, dir, ':'))
      if (!dir.empty()) dirs.emplace_back(dir);
  }
  if (dirs.empty()) dirs.push_back(fs::path(boost::dll::program_location().parent_path().string()) / "plugins");
  return dirs;
}

PluginRegistry::PluginRegistry(const std::vector<fs::path>& dirs) {
  for (const fs::path& dir : dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      problems_.push_back(dir.string() + ": plugin directory does not exist");
      continue;
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.path().extension() == ".so") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      try {
        PluginRecord record = load_plugin_file(file);
        bool duplicate = false;
        for (const PluginRecord& other : plugins_) {
          if (other.name == record.name && other.file != record.file) {
            problems_.push_back("two plugins are named '" + record.name + "': " + other.file.string() + " and " +
                                record.file.string());
            duplicate = true;
          }
          if (other.file == record.file) duplicate = true;  // same file reached twice
        }
        if (!duplicate) plugins_.push_back(std::move(record));
      } catch (const Error& e) {
        problems_.push_back(e.what());
      }
    }
  }
}

void PluginRegistry::require_no_problems() const {
  if (problems_.empty()) return;
  std::string message = problems_.front();
  if (problems_.size() > 1) message += " (and " + std::to_string(problems_.size() - 1) + " more plugin problems)";
  throw Error(message);
}

const PluginRecord& PluginRegistry::find(const std::string& name, const std::string& kind) const {
  for (const PluginRecord& p : plugins_) {
    if (p.name != name) continue;
    if (p.kind != kind) throw Error("plugin '" + name + "' is a " + p.kind + ", not a " + kind);
    return p;
  }
  std::string known;
  for (const PluginRecord& p : plugins_)
    if (p.kind == kind) known += (known.empty() ? "" : ", ") + p.name;
  throw Error("no " + kind + " plugin named '" + name + "' (found: " + (known.empty() ? "none" : known) +
              "; see `capbench plugins`)");
}

std::shared_ptr<void> PluginRegistry::create_raw(const std::string& name, const std::string& kind,
                                                 ComponentContext& ctx) const {
  const PluginRecord& record = find(name, kind);
  PluginCreateFn* create = nullptr;
  {
    std::lock_guard<std::mutex> lock(loader_mutex());
    create = loaded_libraries().at(record.file).create;
  }
  std::shared_ptr<void> made = create(ctx);
  if (!made) throw Error(record.file.string() + ": plugin '" + name + "' created nothing");
  ctx.settings.check_all_used();
  return made;
}

}  // namespace capbench
