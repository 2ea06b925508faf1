#include "core/cli/command.h"

namespace capbench::cli {

int run_submit(const std::vector<std::string>& args) {
  po::options_description options("submit options");
  po::positional_options_description positional;
  po::variables_map vm;
  po::options_description loose;
  loose.add_options()("args", po::value<std::vector<std::string>>(), "arguments");
  options.add(loose);
  positional.add("args", -1);
  if (!parse(args, command("submit"), options, positional, vm)) return 0;
  return not_implemented(command("submit"), "scoring and data, issue 7");
}

}  // namespace capbench::cli
