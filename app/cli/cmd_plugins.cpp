#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "core/plugin_loader.h"

namespace capbench::cli {

int run_plugins(const std::vector<std::string>& args) {
  po::options_description options("plugins options");
  options.add_options()("json", "print a JSON array instead of a table");
  po::variables_map vm;
  if (!parse(args, command("plugins"), options, {}, vm)) return 0;

  PluginRegistry registry(PluginRegistry::search_path(plugin_dirs(vm)));
  if (vm.count("json")) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : registry.plugins())
      out.push_back({{"name", p.name}, {"kind", p.kind}, {"abi_version", p.abi_version},
                     {"torch_version", p.torch_version}, {"description", p.description}, {"file", p.file.string()}});
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << std::left << std::setw(14) << "NAME" << std::setw(10) << "KIND" << std::setw(5) << "ABI"
              << std::setw(10) << "LIBTORCH" << "DESCRIPTION / FILE\n";
    for (const auto& p : registry.plugins())
      std::cout << std::setw(14) << p.name << std::setw(10) << p.kind << std::setw(5) << p.abi_version
                << std::setw(10) << p.torch_version << p.description << "\n"
                << std::string(39, ' ') << p.file.string() << "\n";
  }
  for (const auto& problem : registry.problems()) std::cerr << "capbench plugins: error: " << problem << "\n";
  return registry.problems().empty() ? 0 : 1;
}

}  // namespace capbench::cli
