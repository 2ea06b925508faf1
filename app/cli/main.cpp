#include <c10/util/Exception.h>
#include <iostream>
#include <string>
#include <vector>

#include "app/cli/command.h"
#include "app/version.h"
#include "core/error.h"
#include "core/log.h"

namespace {

void print_help(std::ostream& out) {
  out << "usage: capbench [--version] [--help] COMMAND [ARGS]\n\n"
         "capbench captions image datasets with BLIP-2-family models under many generation\n"
         "settings and scores the captions. Commands:\n\n";
  for (const auto& c : capbench::cli::commands()) {
    std::string name = c.name;
    out << "  " << name << std::string(name.size() < 13 ? 13 - name.size() : 1, ' ') << c.summary << "\n";
  }
  out << "\n`capbench COMMAND --help` describes a command's options.\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  capbench::log::set_verbosity(capbench::log::Verbosity::normal);
  if (args.empty()) {
    print_help(std::cerr);
    return 2;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_help(std::cout);
    return 0;
  }
  if (args[0] == "--version") {
    std::cout << "capbench " << capbench::version() << "\n";
    return 0;
  }
  try {
    const auto& command = capbench::cli::command(args[0]);
    try {
      return command.run(std::vector<std::string>(args.begin() + 1, args.end()));
    } catch (const capbench::UsageError& e) {
      std::cerr << "capbench " << command.name << ": " << e.what() << "\nusage: " << command.usage << "\n";
      return 2;
    }
  } catch (const capbench::UsageError& e) {
    std::cerr << "capbench: " << e.what() << "\n";
    return 2;
  } catch (const c10::Error& e) {
    // libtorch's own messages carry a C++ backtrace; the user needs the first line.
    std::string message = e.what_without_backtrace();
    std::cerr << "capbench: error: " << message.substr(0, message.find('\n')) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "capbench: error: " << e.what() << "\n";
    return 1;
  }
}
