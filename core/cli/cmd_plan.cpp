#include "core/cli/command.h"

namespace capbench::cli {

int run_plan(const std::vector<std::string>& args) {
  po::options_description options("plan options");
  po::positional_options_description positional;
  po::variables_map vm;
  po::options_description loose;
  loose.add_options()("args", po::value<std::vector<std::string>>(), "arguments");
  options.add(loose);
  positional.add("args", -1);
  if (!parse(args, command("plan"), options, positional, vm)) return 0;
  return not_implemented(command("plan"), "experiments and sweeps, issue 8");
}

}  // namespace capbench::cli
