#include <iostream>

#include "app/cli/command.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/log.h"
#include "core/nn/packed_linear.h"

namespace capbench::cli {

po::options_description common_options() {
  po::options_description common("Common options");
  common.add_options()("help,h", "show this help and exit")(
      "plugins", po::value<std::vector<std::string>>()->composing(),
      "directory to load plugins from (repeatable; default: $CAPBENCH_PLUGIN_PATH, else plugins/ beside the binary)")(
      "verbose,v", "log more detail")("quiet,q", "log warnings and errors only");
  return common;
}

bool parse(const std::vector<std::string>& args, const Command& command, const po::options_description& options,
           const po::positional_options_description& positional, po::variables_map& vm) {
  po::options_description all;
  all.add(options).add(common_options());
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: " << command.usage << "\n\n" << command.summary << "\n\n" << all << "\n";
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  log::set_verbosity(vm.count("quiet")     ? log::Verbosity::quiet
                     : vm.count("verbose") ? log::Verbosity::verbose
                                           : log::Verbosity::normal);
  return true;
}

void check_dtype_option(const std::string& dtype, const std::string& device, const std::string& command) {
  if (dtype != "int8") return;
  const std::string where = command + " --dtype int8";
  if (!parse_device(device).is_cpu())
    throw Error(where + ": int8 runs on the CPU only (oneDNN); on CUDA use --dtype fp16 or bf16, or --device cpu");
  nn::check_packed_compute(nn::PackedCompute::int8, where);
}

std::vector<std::string> plugin_dirs(const po::variables_map& vm) {
  if (vm.count("plugins")) return vm["plugins"].as<std::vector<std::string>>();
  return {};
}

std::vector<std::string> texts_argument(const po::variables_map& vm, const std::string& key) {
  if (vm.count(key)) return vm[key].as<std::vector<std::string>>();
  std::vector<std::string> texts;
  for (std::string line; std::getline(std::cin, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    texts.push_back(line);
  }
  return texts;
}

const Command& command(const std::string& name) {
  for (const Command& c : commands())
    if (name == c.name) return c;
  throw UsageError("unknown command '" + name + "' (see capbench --help)");
}

int not_implemented(const Command& command, const char* what_is_missing) {
  std::cerr << "capbench " << command.name << ": not available yet (" << what_is_missing << ")\n";
  return 2;
}

}  // namespace capbench::cli
