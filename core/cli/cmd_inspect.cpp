#include "core/cli/command.h"

namespace capbench::cli {

int run_inspect(const std::vector<std::string>& args) {
  po::options_description options("inspect options");
  po::positional_options_description positional;
  po::variables_map vm;
  po::options_description loose;
  loose.add_options()("args", po::value<std::vector<std::string>>(), "arguments");
  options.add(loose);
  positional.add("args", -1);
  if (!parse(args, command("inspect"), options, positional, vm)) return 0;
  return not_implemented(command("inspect"), "checkpoints, issue 3");
}

}  // namespace capbench::cli
