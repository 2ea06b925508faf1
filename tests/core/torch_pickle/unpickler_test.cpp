// The restricted unpickler on hand-made pickles: what a state dict is made of is
// read; any other global, unknown opcodes and hostile structures are refused.
#include "core/torch_pickle/unpickler.h"

#include <doctest/doctest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/torch_pickle/torch_writer.h"

using namespace capbench::torch_pickle;
using namespace std::string_literals;  // "..."s keeps the zero bytes of opcodes' arguments
using Kind = Value::Kind;

namespace {

// Pickle fragments.
std::string str(const std::string& s) {
  uint32_t n = static_cast<uint32_t>(s.size());
  return "X" + std::string(reinterpret_cast<const char*>(&n), 4) + s;
}
std::string global(const std::string& module, const std::string& name) { return "c" + module + "\n" + name + "\n"; }
const std::string kProto = std::string("\x80\x02", 2);

ValuePtr read(const std::string& pickle) {
  return unpickle(reinterpret_cast<const uint8_t*>(pickle.data()), pickle.size(), "test");
}

std::string error_of(const std::string& pickle) {
  try {
    read(pickle);
  } catch (const capbench::Error& e) {
    std::string message = e.what();
    CHECK_MESSAGE(message.find('\n') == std::string::npos, message);
    CHECK(message.rfind("test: ", 0) == 0);
    return message;
  }
  FAIL("the pickle was accepted");
  return "";
}

}  // namespace

TEST_CASE("a state dict as torch.save pickles it: tensors are strided views of storages") {
  std::vector<std::pair<std::string, at::Tensor>> tensors = {
      {"w", torch::zeros({2, 3})}, {"h", torch::zeros({4}, torch::kHalf)}, {"n", torch::zeros({}, torch::kLong)}};
  ValuePtr root = read(capbench::state_dict_pickle(tensors));
  REQUIRE(root->kind == Kind::Dict);
  REQUIRE(root->entries.size() == 3);
  const TensorRef& w = root->entries[0].second->tensor;
  CHECK(root->entries[0].first->is_string("w"));
  CHECK(w.storage.key == "0");
  CHECK((w.storage.dtype == at::kFloat));
  CHECK(w.storage.numel == 6);
  CHECK((w.shape == std::vector<int64_t>{2, 3}));
  CHECK((w.strides == std::vector<int64_t>{3, 1}));
  CHECK((root->entries[1].second->tensor.storage.dtype == at::kHalf));
  CHECK(root->entries[2].second->tensor.shape.empty());

  ValuePtr wrapped = read(capbench::state_dict_pickle(tensors, "model"));
  REQUIRE(wrapped->kind == Kind::Dict);
  CHECK(wrapped->entries[0].first->is_string("model"));
  CHECK(wrapped->entries[0].second->entries.size() == 3);
}

TEST_CASE("plain values: numbers, strings, bytes, lists, tuples, nested dicts, memo") {
  const std::string items = str("i") + "J\xfe\xff\xff\xff" + str("big") + "\x8a\x05\x00\x00\x00\x00\x80"s + str("f") +
                            "G\x3f\xf8\x00\x00\x00\x00\x00\x00"s + str("b") + "C\x02hi" + str("l") + "](K\x01M\x02\x01" "e" + str("t") +
                            "\x88\x89N\x87";
  const std::string pickle = kProto + "}q\x00("s + items + str("again") + "h\x00u."s;
  // "again" is the dict itself (memo 0): placing it inside itself is refused.
  CHECK(error_of(pickle).find("holds itself") != std::string::npos);

  ValuePtr v = read(kProto + "}(" + items + "u.");
  REQUIRE(v->entries.size() == 6);
  CHECK(v->entries[0].second->integer == -2);
  CHECK(v->entries[1].second->integer == -549755813888);  // LONG1 of 5 bytes, sign-extended
  CHECK(v->entries[2].second->real == 1.5);
  CHECK(v->entries[3].second->kind == Kind::Bytes);
  CHECK(v->entries[3].second->text == "hi");
  CHECK(v->entries[4].second->items.size() == 2);
  CHECK(v->entries[4].second->items[1]->integer == 258);
  const ValuePtr& t = v->entries[5].second;
  REQUIRE(t->kind == Kind::Tuple);
  CHECK(t->items[0]->boolean);
  CHECK(t->items[2]->kind == Kind::None);
}

TEST_CASE("any global outside a state dict's few is refused by name before anything runs") {
  // What a pickle calling os.system("touch FILE") holds.
  const std::string system = kProto + global("posix", "system") + str("touch pwned") + "\x85R.";
  std::string message = error_of(system);
  CHECK(message.find("names the Python global 'posix.system'") != std::string::npos);
  CHECK(message.find("refused") != std::string::npos);
  CHECK(message.find("(at byte 2)") != std::string::npos);
  for (const auto& [module, name] : std::vector<std::pair<std::string, std::string>>{
           {"builtins", "eval"}, {"__builtin__", "exec"}, {"torch", "load"}, {"torch._utils", "_rebuild_device_tensor_from_numpy"},
           {"collections", "defaultdict"}, {"numpy.core.multiarray", "_reconstruct"}, {"torch", "Tensor"}}) {
    CAPTURE(module);
    CHECK(error_of(kProto + global(module, name) + ").").find("'" + module + "." + name + "'") != std::string::npos);
  }
  // STACK_GLOBAL (protocol 4) is checked the same way.
  CHECK(error_of(kProto + str("os") + str("system") + "\x93.").find("'os.system'") != std::string::npos);
  // A known global inside a malicious one's arguments does not help it.
  CHECK(error_of(kProto + global("posix", "system") + global("collections", "OrderedDict") + ")R\x85R.").find("posix.system") !=
        std::string::npos);
  // A name with control characters is printed safely, on one line.
  CHECK(error_of(kProto + global("a\x01" "b", "c") + ".").find("'a?b.c'") != std::string::npos);
}

TEST_CASE("opcodes outside what torch.save writes are refused") {
  CHECK(error_of(kProto + "(" + global("collections", "OrderedDict") + "o.").find("global 'collections.OrderedDict'") ==
        std::string::npos);  // OrderedDict is known ...
  CHECK(error_of(kProto + "(" + global("collections", "OrderedDict") + "o.").find("opcode 0x6f") != std::string::npos);  // ... OBJ is not
  CHECK(error_of(kProto + "(icollections\nOrderedDict\n.").find("opcode 0x69") != std::string::npos);                    // INST
  CHECK(error_of(kProto + "\x82\x01.").find("opcode 0x82") != std::string::npos);                                        // EXT1
  CHECK(error_of(kProto + "P1\n.").find("opcode 0x50") != std::string::npos);                                            // PERSID (text)
  CHECK(error_of("\x80\x06N.").find("protocol 6") != std::string::npos);
}

TEST_CASE("hostile structures fail cleanly: truncation, bad memo, deep nesting, sealed containers, bad views") {
  const std::string good = capbench::state_dict_pickle({{"w", torch::zeros({2, 3})}});
  for (size_t cut = 0; cut < good.size(); ++cut) CHECK_THROWS_AS(read(good.substr(0, cut)), capbench::Error);
  CHECK(error_of(kProto + "h\x07.").find("memo entry 7 read before it is written") != std::string::npos);
  CHECK(error_of(kProto + "0.").find("pops an empty stack") != std::string::npos);
  CHECK(error_of(kProto + "t.").find("no MARK") != std::string::npos);
  CHECK(error_of(kProto + ".").find("STOP with an empty stack") != std::string::npos);
  CHECK(error_of(kProto + "(.").find("STOP with an empty stack") != std::string::npos);  // a MARK hides what is below
  CHECK(error_of(kProto + "K\x01K\x02\x86" "K\x03" "a.").find("APPEND on a tuple") != std::string::npos);
  std::string deep = kProto;
  for (int i = 0; i < 150; ++i) deep += "]";
  for (int i = 0; i < 149; ++i) deep += "a";
  CHECK(error_of(deep + ".").find("nested deeper than 100") != std::string::npos);
  // A list placed in a tuple may not change afterwards (no cycles, no surprises).
  CHECK(error_of(kProto + "]q\x00\x85h\x00K\x01" "a."s).find("already placed") != std::string::npos);
  CHECK(error_of(kProto + "]q\x00h\x00" "a."s).find("holds itself") != std::string::npos);
  CHECK(error_of(kProto + "\x8a\x09" + std::string(9, '\x01') + ".").find("64-bit") != std::string::npos);

  auto tensor = [](const std::string& offset, const std::string& size, const std::string& stride, const std::string& numel) {
    return kProto + global("torch._utils", "_rebuild_tensor_v2") + "((" + str("storage") + global("torch", "FloatStorage") +
           str("0") + str("cpu") + numel + "tQ" + offset + size + stride + "\x89" + global("collections", "OrderedDict") +
           ")Rt" + "R.";
  };
  CHECK(read(tensor("K\x02", "K\x02K\x03\x86", "K\x03K\x01\x86", "K\x08"))->tensor.offset == 2);  // reaches element 7 of 8
  CHECK(error_of(tensor("K\x03", "K\x02K\x03\x86", "K\x03K\x01\x86", "K\x08")).find("reaches element 8 of storage '0' of 8") !=
        std::string::npos);
  CHECK(read(tensor("K\x08", "K\x00\x85"s, "K\x01\x85", "K\x08"))->tensor.shape[0] == 0);  // an empty view reaches nothing ...
  CHECK(error_of(tensor("K\x09", "K\x00\x85"s, "K\x01\x85", "K\x08")).find("starts at element 9") != std::string::npos);  // ... inside
  CHECK(error_of(tensor("K\x00"s, "J\xff\xff\xff\xff\x85", "K\x01\x85", "K\x08")).find("negative") != std::string::npos);
  CHECK(error_of(tensor("K\x00"s, "K\x02\x85", "K\x03K\x01\x86", "K\x08")).find("size and stride differ") != std::string::npos);
  const std::string huge = "\x8a\x08" + std::string("\xff\xff\xff\xff\xff\xff\xff\x3f", 8);
  CHECK(error_of(tensor("K\x00"s, "(" + huge + huge + "t", "(" + huge + "K\x01t", "K\x08")).find("overflow") != std::string::npos);
}

TEST_CASE("the attributes of an OrderedDict (a state dict's _metadata) are read and dropped") {
  const std::string pickle = kProto + global("collections", "OrderedDict") + ")Rq\x00("s + str("a") + "K\x01u}" + str("_metadata") + "}sb.";
  ValuePtr v = read(pickle);
  REQUIRE(v->kind == Kind::Dict);
  CHECK(v->entries.size() == 1);
  CHECK(error_of(kProto + "]}b.").find("BUILD on a list") != std::string::npos);
}
