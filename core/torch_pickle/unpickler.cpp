#include "core/torch_pickle/unpickler.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "core/error.h"

namespace capbench::torch_pickle {

namespace {

using Kind = Value::Kind;
using Global = Value::Global;

constexpr int kMaxDepth = 100;
constexpr size_t kMaxRank = 64;  // torch's limit on dimensions

struct KnownGlobal {
  const char* module;
  const char* name;
  Global global;
  at::ScalarType dtype;  // storage classes only
};

constexpr KnownGlobal kKnownGlobals[] = {
    {"collections", "OrderedDict", Global::OrderedDict, at::kFloat},
    {"torch._utils", "_rebuild_tensor_v2", Global::RebuildTensorV2, at::kFloat},
    {"torch._utils", "_rebuild_tensor", Global::RebuildTensor, at::kFloat},
    {"torch._utils", "_rebuild_parameter", Global::RebuildParameter, at::kFloat},
    {"torch", "FloatStorage", Global::StorageClass, at::kFloat},
    {"torch", "DoubleStorage", Global::StorageClass, at::kDouble},
    {"torch", "HalfStorage", Global::StorageClass, at::kHalf},
    {"torch", "BFloat16Storage", Global::StorageClass, at::kBFloat16},
    {"torch", "LongStorage", Global::StorageClass, at::kLong},
    {"torch", "IntStorage", Global::StorageClass, at::kInt},
    {"torch", "ShortStorage", Global::StorageClass, at::kShort},
    {"torch", "CharStorage", Global::StorageClass, at::kChar},
    {"torch", "ByteStorage", Global::StorageClass, at::kByte},
    {"torch", "BoolStorage", Global::StorageClass, at::kBool},
};

// A name from the file, made safe to print in one line.
std::string printable(const std::string& text) {
  std::string out;
  for (char c : text.substr(0, 200)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return text.size() > 200 ? out + "..." : out;
}

class Unpickler {
 public:
  Unpickler(const uint8_t* bytes, size_t size, const std::string& origin) : bytes_(bytes), size_(size), origin_(origin) {}

  ValuePtr run() {
    for (;;) {
      op_at_ = at_;
      const uint8_t op = byte();
      switch (op) {
        case 0x80: protocol(); break;                                  // PROTO
        case 0x95: take(8); break;                                     // FRAME: framing only
        case '.':                                                      // STOP
          if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("STOP with an empty stack");
          return stack_.back();
        case '(': marks_.push_back(stack_.size()); break;              // MARK
        case '0': pop(); break;                                        // POP
        case '1': pop_mark(); break;                                   // POP_MARK
        case '2': push(top()); break;                                  // DUP
        case 'N': push(make(Kind::None)); break;                       // NONE
        case 0x88: push(boolean(true)); break;                         // NEWTRUE
        case 0x89: push(boolean(false)); break;                        // NEWFALSE
        case 'J': push(integer(static_cast<int32_t>(little(4)))); break;  // BININT
        case 'K': push(integer(little(1))); break;                     // BININT1
        case 'M': push(integer(little(2))); break;                     // BININT2
        case 0x8a: push(long_integer(little(1))); break;               // LONG1
        case 0x8b: push(long_integer(little(4))); break;               // LONG4
        case 'G': push(real()); break;                                 // BINFLOAT
        case 'X': push(text(Kind::String, little(4))); break;          // BINUNICODE
        case 0x8c: push(text(Kind::String, little(1))); break;         // SHORT_BINUNICODE
        case 0x8d: push(text(Kind::String, little(8))); break;         // BINUNICODE8
        case 'T': push(text(Kind::String, little(4))); break;          // BINSTRING (Python 2 str)
        case 'U': push(text(Kind::String, little(1))); break;          // SHORT_BINSTRING
        case 'B': push(text(Kind::Bytes, little(4))); break;           // BINBYTES
        case 'C': push(text(Kind::Bytes, little(1))); break;           // SHORT_BINBYTES
        case 0x8e: push(text(Kind::Bytes, little(8))); break;          // BINBYTES8
        case ')': push(tuple({})); break;                              // EMPTY_TUPLE
        case 't': push(tuple(pop_mark())); break;                      // TUPLE
        case 0x85: push(tuple(pop_n(1))); break;                       // TUPLE1
        case 0x86: push(tuple(pop_n(2))); break;                       // TUPLE2
        case 0x87: push(tuple(pop_n(3))); break;                       // TUPLE3
        case ']': push(make(Kind::List)); break;                       // EMPTY_LIST
        case 'l': push(list(pop_mark())); break;                       // LIST
        case 'a': append(pop_n(1)); break;                             // APPEND
        case 'e': append(pop_mark()); break;                           // APPENDS
        case '}': push(make(Kind::Dict)); break;                       // EMPTY_DICT
        case 'd': {                                                    // DICT
          ValuePtr dict = make(Kind::Dict);
          set_items(dict, pop_mark());
          push(dict);
          break;
        }
        case 's': {                                                    // SETITEM
          std::vector<ValuePtr> pair = pop_n(2);
          set_items(top(), pair);
          break;
        }
        case 'u': {                                                    // SETITEMS
          std::vector<ValuePtr> items = pop_mark();
          set_items(top(), items);
          break;
        }
        case 'q': memo_[little(1)] = top(); break;                     // BINPUT
        case 'r': memo_[little(4)] = top(); break;                     // LONG_BINPUT
        case 0x94: memo_[memo_.size()] = top(); break;                 // MEMOIZE
        case 'h': push(memo(little(1))); break;                        // BINGET
        case 'j': push(memo(little(4))); break;                        // LONG_BINGET
        case 'c': {                                                    // GLOBAL
          std::string module = line();
          std::string name = line();
          push(global(module, name));
          break;
        }
        case 0x93: {                                                   // STACK_GLOBAL
          ValuePtr name = pop(), module = pop();
          if (module->kind != Kind::String || name->kind != Kind::String) fail("STACK_GLOBAL needs two strings");
          push(global(module->text, name->text));
          break;
        }
        case 'R': {                                                    // REDUCE
          ValuePtr args = pop();
          ValuePtr callable = pop();
          push(reduce(*callable, args));
          break;
        }
        case 'b': build(pop()); break;                                 // BUILD
        case 'Q': push(persistent(pop())); break;                      // BINPERSID
        default: {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", op);
          fail(std::string("pickle opcode ") + hex +
               " is not one torch.save writes for a state dict (capbench reads only those)");
        }
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(origin_ + ": " + what + " (at byte " + std::to_string(op_at_) + ")");
  }

  // --- reading the stream ---
  const uint8_t* take(uint64_t n) {
    if (n > size_ - at_) fail("truncated pickle");
    const uint8_t* p = bytes_ + at_;
    at_ += n;
    return p;
  }
  uint8_t byte() { return *take(1); }
  uint64_t little(int n) {
    const uint8_t* p = take(n);
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
  }
  std::string line() {
    const uint8_t* begin = bytes_ + at_;
    const void* end = std::memchr(begin, '\n', size_ - at_);
    if (!end) fail("truncated pickle");
    std::string text(reinterpret_cast<const char*>(begin), static_cast<const uint8_t*>(end) - begin);
    at_ += text.size() + 1;
    return text;
  }

  void protocol() {
    uint8_t version = byte();
    if (version < 2 || version > 5) fail("pickle protocol " + std::to_string(version) + " (torch.save writes 2)");
  }

  // --- values ---
  static ValuePtr make(Kind kind) {
    auto v = std::make_shared<Value>();
    v->kind = kind;
    return v;
  }
  static ValuePtr boolean(bool b) {
    ValuePtr v = make(Kind::Bool);
    v->boolean = b;
    return v;
  }
  static ValuePtr integer(int64_t i) {
    ValuePtr v = make(Kind::Int);
    v->integer = i;
    return v;
  }
  ValuePtr long_integer(uint64_t n) {
    if (n > 8) fail("integer of " + std::to_string(n) + " bytes (capbench reads 64-bit integers)");
    const uint8_t* p = take(n);
    uint64_t v = 0;
    for (int i = static_cast<int>(n) - 1; i >= 0; --i) v = (v << 8) | p[i];
    if (n > 0 && n < 8 && (p[n - 1] & 0x80)) v |= ~uint64_t{0} << (8 * n);  // sign-extend
    return integer(static_cast<int64_t>(v));
  }
  ValuePtr real() {
    const uint8_t* p = take(8);
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];  // big-endian
    ValuePtr v = make(Kind::Float);
    std::memcpy(&v->real, &bits, 8);
    return v;
  }
  ValuePtr text(Kind kind, uint64_t n) {
    const uint8_t* p = take(n);
    ValuePtr v = make(kind);
    v->text.assign(reinterpret_cast<const char*>(p), n);
    return v;
  }
  ValuePtr tuple(std::vector<ValuePtr> items) {
    ValuePtr v = make(Kind::Tuple);
    for (const auto& item : items) adopt(*v, item);
    v->items = std::move(items);
    return v;
  }
  ValuePtr list(std::vector<ValuePtr> items) {
    ValuePtr v = make(Kind::List);
    append_to(v, items);
    return v;
  }

  // `item` goes inside `container`: it is sealed, and the container's depth grows.
  void adopt(Value& container, const ValuePtr& item) {
    if (item.get() == &container) fail("a container that holds itself");
    item->sealed = true;
    container.depth = std::max(container.depth, item->depth + 1);
    if (container.depth > kMaxDepth) fail("values nested deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  void check_open(const Value& container, Kind kind, const char* op) const {
    if (container.kind != kind) fail(std::string(op) + " on a " + kind_name(container.kind) + ", not a " + kind_name(kind));
    if (container.sealed) fail(std::string(op) + " changes a container already placed in another one");
  }
  void append_to(const ValuePtr& target, const std::vector<ValuePtr>& items) {
    check_open(*target, Kind::List, "APPEND");
    for (const auto& item : items) {
      adopt(*target, item);
      target->items.push_back(item);
    }
  }
  void append(const std::vector<ValuePtr>& items) { append_to(top(), items); }  // items are popped first
  void set_items(const ValuePtr& target, const std::vector<ValuePtr>& items) {
    check_open(*target, Kind::Dict, "SETITEM");
    if (items.size() % 2) fail("SETITEMS with an odd number of values");
    for (size_t i = 0; i < items.size(); i += 2) {
      adopt(*target, items[i]);
      adopt(*target, items[i + 1]);
      target->entries.emplace_back(items[i], items[i + 1]);
    }
  }

  // --- the stack ---
  void push(ValuePtr v) { stack_.push_back(std::move(v)); }
  ValuePtr pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("pops an empty stack");
    ValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  const ValuePtr& top() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("reads an empty stack");
    return stack_.back();
  }
  std::vector<ValuePtr> pop_n(size_t n) {
    if (stack_.size() < n + (marks_.empty() ? 0 : marks_.back())) fail("pops an empty stack");
    std::vector<ValuePtr> items(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
    stack_.resize(stack_.size() - n);
    return items;
  }
  std::vector<ValuePtr> pop_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }
  ValuePtr memo(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo entry " + std::to_string(index) + " read before it is written");
    return it->second;
  }

  // --- the few objects a state dict is made of ---
  ValuePtr global(const std::string& module, const std::string& name) {
    for (const auto& known : kKnownGlobals) {
      if (module == known.module && name == known.name) {
        ValuePtr v = make(Kind::Global);
        v->text = module + "." + name;
        v->global = known.global;
        v->storage.dtype = known.dtype;
        return v;
      }
    }
    fail("the pickle names the Python global '" + printable(module + "." + name) +
         "', which a state dict never needs; refused without running anything (pickles can run any code "
         "they name; capbench reads only tensors, storages, OrderedDict and plain values)");
  }

  int64_t as_int(const ValuePtr& v, const char* what) const {
    if (v->kind != Kind::Int) fail(std::string(what) + " must be an integer, not a " + kind_name(v->kind));
    return v->integer;
  }
  std::vector<int64_t> as_ints(const ValuePtr& v, const char* what) const {
    if (v->kind != Kind::Tuple) fail(std::string(what) + " must be a tuple of integers, not a " + kind_name(v->kind));
    if (v->items.size() > kMaxRank) fail(std::string(what) + " has more than 64 dimensions");
    std::vector<int64_t> out;
    for (const auto& item : v->items) {
      int64_t i = as_int(item, what);
      if (i < 0) fail(std::string(what) + " has a negative entry");
      out.push_back(i);
    }
    return out;
  }

  ValuePtr rebuild_tensor(const std::vector<ValuePtr>& args) {
    if (args[0]->kind != Kind::Storage) fail("a tensor's first argument must be a storage");
    ValuePtr v = make(Kind::Tensor);
    TensorRef& t = v->tensor;
    t.storage = args[0]->storage;
    int64_t offset = as_int(args[1], "a tensor's storage offset");
    if (offset < 0) fail("a tensor's storage offset is negative");
    t.offset = static_cast<uint64_t>(offset);
    t.shape = as_ints(args[2], "a tensor's size");
    t.strides = as_ints(args[3], "a tensor's stride");
    if (t.shape.size() != t.strides.size()) fail("a tensor's size and stride differ in length");
    // The elements the view reaches: offset + sum((size - 1) * stride) must lie in the storage.
    uint64_t last = t.offset;
    bool empty = false;
    for (size_t i = 0; i < t.shape.size(); ++i) {
      if (t.shape[i] == 0) empty = true;
      uint64_t step = 0;
      if (t.shape[i] > 0 && (__builtin_mul_overflow(static_cast<uint64_t>(t.shape[i] - 1), static_cast<uint64_t>(t.strides[i]), &step) ||
                             __builtin_add_overflow(last, step, &last)))
        fail("a tensor's size and stride overflow");
    }
    if (empty ? t.offset > t.storage.numel : last >= t.storage.numel)
      fail("a tensor " + std::string(empty ? "starts at" : "reaches") + " element " + std::to_string(empty ? t.offset : last) + " of storage '" + printable(t.storage.key) + "' of " +
           std::to_string(t.storage.numel) + " elements");
    return v;
  }

  ValuePtr reduce(const Value& callable, const ValuePtr& args) {
    if (callable.kind != Kind::Global) fail(std::string("REDUCE calls a ") + kind_name(callable.kind));
    if (args->kind != Kind::Tuple) fail("REDUCE's arguments are not a tuple");
    const std::vector<ValuePtr>& a = args->items;
    switch (callable.global) {
      case Global::OrderedDict:
        if (!a.empty()) fail("OrderedDict(...) with arguments");
        return make(Kind::Dict);
      case Global::RebuildTensorV2:
        // (storage, offset, size, stride, requires_grad, backward_hooks[, metadata])
        if (a.size() != 6 && a.size() != 7) fail("_rebuild_tensor_v2 takes 6 or 7 arguments");
        return rebuild_tensor(a);
      case Global::RebuildTensor:
        if (a.size() != 4) fail("_rebuild_tensor takes 4 arguments");
        return rebuild_tensor(a);
      case Global::RebuildParameter:
        // (data, requires_grad, backward_hooks): the parameter is its tensor
        if (a.size() != 3 || a[0]->kind != Kind::Tensor) fail("_rebuild_parameter takes a tensor and 2 more arguments");
        return a[0];
      case Global::StorageClass:
        break;
    }
    fail("REDUCE calls " + callable.text + ", which only names a storage's type");
  }

  // OrderedDict's attributes (a state dict's `_metadata`): not needed, dropped.
  void build(const ValuePtr& state) {
    const ValuePtr& target = top();
    if (target->kind != Kind::Dict || target->sealed) fail(std::string("BUILD on a ") + kind_name(target->kind));
    (void)state;
  }

  // ("storage", storage class, key, location, numel)
  ValuePtr persistent(const ValuePtr& pid) {
    const std::vector<ValuePtr>& a = pid->items;
    if (pid->kind != Kind::Tuple || a.size() != 5 || !a[0]->is_string("storage"))
      fail("persistent id is not (\"storage\", type, key, location, size) as torch.save writes");
    if (a[1]->kind != Kind::Global || a[1]->global != Global::StorageClass)
      fail("persistent id names no storage type");
    if (a[2]->kind != Kind::String) fail("persistent id's storage key is not a string");
    int64_t numel = as_int(a[4], "a storage's size");
    if (numel < 0) fail("a storage's size is negative");
    ValuePtr v = make(Kind::Storage);
    v->storage = {a[2]->text, a[1]->storage.dtype, static_cast<uint64_t>(numel)};
    return v;
  }

  const uint8_t* bytes_;
  size_t size_;
  const std::string& origin_;
  size_t at_ = 0, op_at_ = 0;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, ValuePtr> memo_;
};

}  // namespace

const char* kind_name(Value::Kind kind) {
  switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global";
    case Kind::Storage: return "storage";
    case Kind::Tensor: return "tensor";
  }
  return "value";
}

ValuePtr unpickle(const uint8_t* bytes, size_t size, const std::string& origin) {
  return Unpickler(bytes, size, origin).run();
}

}  // namespace capbench::torch_pickle
