#pragma once
// The command line: one function per subcommand, each parsing its own options
// with Boost.Program_options. Exit codes: 0 success, 1 runtime failure,
// 2 usage error. Subcommands are registered in commands.cpp, in one list.
#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace capbench::cli {

namespace po = boost::program_options;

struct Command {
  const char* name;
  const char* usage;    // e.g. "capbench run EXPERIMENT.toml [options]"
  const char* summary;  // one line for `capbench --help`
  int (*run)(const std::vector<std::string>& args);
};

const std::vector<Command>& commands();

// Options every subcommand accepts: --help, --plugins DIR (repeatable),
// --verbose, --quiet.
po::options_description common_options();

// Parses `args` against `options` (+ common options) and `positional`; applies
// --verbose/--quiet. Returns false when --help was asked and printed. Throws
// UsageError on bad flags.
bool parse(const std::vector<std::string>& args, const Command& command, const po::options_description& options,
           const po::positional_options_description& positional, po::variables_map& vm);

// Refuses --dtype int8 where it cannot run (CUDA, a CPU below AVX2, capbench
// without oneDNN) with one line naming `command`, before anything loads.
void check_dtype_option(const std::string& dtype, const std::string& device, const std::string& command);

// Plugin directories from --plugins, $CAPBENCH_PLUGIN_PATH or the default.
std::vector<std::string> plugin_dirs(const po::variables_map& vm);

const Command& command(const std::string& name);

// The texts of option `key`, or else standard input, one text per line.
std::vector<std::string> texts_argument(const po::variables_map& vm, const std::string& key);

// For subcommands whose issue is not done yet: says so on stderr, exits 2.
int not_implemented(const Command& command, const char* what_is_missing);

}  // namespace capbench::cli
