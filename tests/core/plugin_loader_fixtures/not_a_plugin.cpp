// An ordinary shared library with no capbench exports.
extern "C" int not_a_plugin_answer() { return 42; }
