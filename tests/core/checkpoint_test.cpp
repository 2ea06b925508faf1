#include "core/checkpoint.h"

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/safetensors.h"
#include "tests/core/checkpoint_test_support.h"

using capbench::Checkpoint;
using namespace capbench::testing;
namespace fs = std::filesystem;

TEST_CASE("every fixture checkpoint opens: single files, fp16 and BF16 shards") {
  for (const char* folder : {"blip2-opt-tiny", "blip2-opt-tiny-fp16", "blip2-opt-tiny-sharded", "blip2-t5-tiny", "minilm-tiny"}) {
    CAPTURE(folder);
    Checkpoint checkpoint = Checkpoint::open(fixture(folder));
    CHECK(checkpoint.folder() == fixture(folder));
    CHECK(!checkpoint.names().empty());
    for (const auto& name : checkpoint.names()) CHECK(checkpoint.view(name).sizes() == at::IntArrayRef(checkpoint.info(name).shape));
    CHECK((checkpoint.metadata() == std::vector<std::pair<std::string, std::string>>{{"format", "pt"}}));
  }
}

TEST_CASE("the sharded BF16 and the F16 checkpoints are the fp32 weights rounded, tensor for tensor") {
  Checkpoint fp32 = Checkpoint::open(fixture("blip2-opt-tiny"));
  Checkpoint bf16 = Checkpoint::open(fixture("blip2-opt-tiny-sharded"));
  Checkpoint fp16 = Checkpoint::open(fixture("blip2-opt-tiny-fp16/model.safetensors"));  // a file, not a folder
  auto names = fp32.names();
  auto sharded_names = bf16.names();
  CHECK((std::set<std::string>(names.begin(), names.end()) ==
         std::set<std::string>(sharded_names.begin(), sharded_names.end())));
  CHECK(bf16.files().size() == 3);
  for (const auto& name : names) {
    CAPTURE(name);
    at::Tensor weight = fp32.view(name);
    CHECK((bf16.info(name).dtype == at::kBFloat16));
    CHECK((fp16.info(name).dtype == at::kHalf));
    CHECK(torch::equal(bf16.view(name), weight.to(at::kBFloat16)));
    CHECK(torch::equal(fp16.view(name), weight.to(at::kHalf)));
    // load() upcasts exactly
    CHECK(torch::equal(bf16.load(name, at::kFloat, at::kCPU), weight.to(at::kBFloat16).to(at::kFloat)));
  }
}

TEST_CASE("the sharded index is followed: each tensor comes from its shard, shards in name order") {
  Checkpoint checkpoint = Checkpoint::open(fixture("blip2-opt-tiny-sharded"));
  nlohmann::json index = nlohmann::json::parse(read_bytes(fixture("blip2-opt-tiny-sharded/model.safetensors.index.json")));
  CHECK(checkpoint.names().size() == index["weight_map"].size());
  for (const auto& [name, shard] : index["weight_map"].items())
    CHECK(checkpoint.info(name).file.filename() == shard.get<std::string>());
  std::string previous;
  for (const auto& name : checkpoint.names()) {
    std::string shard = checkpoint.info(name).file.filename().string();
    CHECK(shard >= previous);
    previous = shard;
  }
  // Loading by another path to the same files gives the same names.
  CHECK((Checkpoint::open(fixture("blip2-opt-tiny-sharded/model.safetensors.index.json")).names() == checkpoint.names()));
}

TEST_CASE("names are selected by prefix") {
  Checkpoint checkpoint = Checkpoint::open(fixture("blip2-opt-tiny"));
  auto vision = checkpoint.names("vision_model.");
  REQUIRE(!vision.empty());
  for (const auto& name : vision) CHECK(name.rfind("vision_model.", 0) == 0);
  size_t total = 0;
  for (const char* prefix : {"vision_model.", "qformer.", "language_model.", "language_projection.", "query_tokens"})
    total += checkpoint.names(prefix).size();
  CHECK(total == checkpoint.names().size());
  CHECK(checkpoint.contains("query_tokens"));
  CHECK_FALSE(checkpoint.contains("lm_head.weight"));
  CHECK_THROWS_WITH_AS(checkpoint.info("nope"), doctest::Contains("no tensor 'nope'"), capbench::Error);
}

TEST_CASE("views are zero-copy over the mapping and outlive the checkpoint object; load converts") {
  at::Tensor view, same;
  {
    Checkpoint checkpoint = Checkpoint::open(fixture("blip2-opt-tiny"));
    view = checkpoint.view("language_projection.weight");
    same = checkpoint.load("language_projection.weight", at::kFloat, at::kCPU);
    CHECK(same.data_ptr() == view.data_ptr());
    at::Tensor half = checkpoint.load("language_projection.weight", at::kHalf, at::kCPU);
    CHECK((half.scalar_type() == at::kHalf));
    CHECK(torch::equal(half, view.to(at::kHalf)));
    at::Tensor ids = Checkpoint::open(fixture("blip2-opt-tiny/references.safetensors")).load("fwd_prompt.input_ids", at::kLong, at::kCPU);
    CHECK((ids.scalar_type() == at::kLong));
  }
  CHECK(view.abs().sum().item<float>() > 0);  // still mapped
  CHECK(capbench::Checkpoint::open(fixture("blip2-opt-tiny")).metadata("query_tokens").size() == 1);
}

TEST_CASE("release_file_pages drops a view's pages, which read back the same; other tensors are left alone") {
  Checkpoint checkpoint = Checkpoint::open(fixture("blip2-opt-tiny"));
  const at::Tensor view = checkpoint.view("language_model.model.decoder.embed_tokens.weight");
  const at::Tensor copy = view.clone();
  capbench::release_file_pages(view);
  CHECK(torch::equal(view, copy));  // read again from the file
  capbench::release_file_pages(copy);  // not mapped: untouched
  CHECK(torch::equal(view, copy));
  capbench::release_file_pages(at::Tensor());
  capbench::release_file_pages(view.slice(0, 3, 7).t());  // a strided view inside the mapping
  CHECK(torch::equal(view, copy));
}

TEST_CASE("tensors read through the checkpoint reproduce the reference's computations on them") {
  Checkpoint opt = Checkpoint::open(fixture("blip2-opt-tiny"));
  Checkpoint refs = Checkpoint::open(fixture("blip2-opt-tiny/references.safetensors"));

  SUBCASE("vision embeddings = patch conv + class token + positions of pixel_values") {
    at::Tensor patches = torch::conv2d(refs.view("pixel_values"), opt.view("vision_model.embeddings.patch_embedding.weight"),
                                       opt.view("vision_model.embeddings.patch_embedding.bias"), 14);
    patches = patches.flatten(2).transpose(1, 2);
    at::Tensor cls = opt.view("vision_model.embeddings.class_embedding").expand({patches.size(0), 1, -1});
    at::Tensor embeddings = torch::cat({cls, patches}, 1) + opt.view("vision_model.embeddings.position_embedding");
    CHECK(torch::allclose(embeddings, refs.view("vision.hidden_states.0"), 0, 1e-5));
  }
  SUBCASE("pooler output = post_layernorm (eps 1e-6) of the CLS row of last_hidden_state") {
    at::Tensor pooled = torch::layer_norm(refs.view("vision.last_hidden_state").select(1, 0), {32},
                                          opt.view("vision_model.post_layernorm.weight"),
                                          opt.view("vision_model.post_layernorm.bias"), 1e-6);
    CHECK(torch::allclose(pooled, refs.view("vision.pooler_output"), 0, 1e-5));
  }
  SUBCASE("OPT logits = final hidden state x tied embed_tokens") {
    at::Tensor hidden = refs.view("fwd_prompt.lm_hidden_states.2");
    at::Tensor embed = opt.view("language_model.model.decoder.embed_tokens.weight");
    CHECK(torch::allclose(torch::matmul(hidden.select(1, -1), embed.t()), refs.view("fwd_prompt.logits_last"), 0, 1e-4));
    CHECK(torch::allclose(torch::matmul(hidden, embed.narrow(0, 0, 1024).t()), refs.view("fwd_prompt.logits_head1024"), 0, 1e-4));
  }
  SUBCASE("T5 logits = final decoder state x its own (untied, unscaled) lm_head") {
    Checkpoint t5 = Checkpoint::open(fixture("blip2-t5-tiny"));
    Checkpoint t5_refs = Checkpoint::open(fixture("blip2-t5-tiny/references.safetensors"));
    at::Tensor logits = torch::matmul(t5_refs.view("fwd_prompt.decoder_hidden_states.2").select(1, -1),
                                      t5.view("language_model.lm_head.weight").t());
    CHECK(torch::allclose(logits, t5_refs.view("fwd_prompt.logits_last"), 0, 1e-4));
  }
  SUBCASE("BERT embeddings = LayerNorm(word + position + token type)") {
    Checkpoint bert = Checkpoint::open(fixture("minilm-tiny"));
    Checkpoint bert_refs = Checkpoint::open(fixture("minilm-tiny/references.safetensors"));
    at::Tensor ids = bert_refs.view("input_ids");
    at::Tensor sum = bert.view("embeddings.word_embeddings.weight").index_select(0, ids.flatten()).view({ids.size(0), ids.size(1), -1}) +
                     bert.view("embeddings.position_embeddings.weight").narrow(0, 0, ids.size(1)) +
                     bert.view("embeddings.token_type_embeddings.weight").index_select(0, bert_refs.view("token_type_ids").flatten()).view({ids.size(0), ids.size(1), -1});
    at::Tensor embeddings = torch::layer_norm(sum, {32}, bert.view("embeddings.LayerNorm.weight"), bert.view("embeddings.LayerNorm.bias"), 1e-12);
    CHECK(torch::allclose(embeddings, bert_refs.view("hidden_states.0"), 0, 1e-5));
  }
}

TEST_CASE("bad checkpoints fail with one line naming the file and the tensor") {
  TempDir dir;
  auto good = read_bytes(fixture("minilm-tiny/model.safetensors"));
  auto make = [&](const std::string& name, const std::vector<uint8_t>& bytes) {
    write_bytes(dir / name, bytes);
    return dir / name;
  };
  std::vector<uint8_t> four_floats(16, 0);

  SUBCASE("truncated files") {
    std::string message = open_error(make("short.safetensors", {1, 2, 3}));
    CHECK(message.find("short.safetensors") != std::string::npos);
    CHECK(message.find("truncated") != std::string::npos);
    auto cut = good;
    cut.resize(good.size() / 2);
    message = open_error(make("cut.safetensors", cut));
    CHECK(message.find("cut.safetensors: tensor '") != std::string::npos);
    CHECK(message.find("outside the data area") != std::string::npos);
    CHECK(open_error(make("empty.safetensors", {})).find("truncated") != std::string::npos);
  }
  SUBCASE("a header length beyond the file, or beyond 100 MB") {
    auto bytes = good;
    bytes[5] = 1;  // length += 2^40
    CHECK(open_error(make("long.safetensors", bytes)).find("long.safetensors: header length") != std::string::npos);
    fs::path huge = dir / "huge.safetensors";
    write_bytes(huge, {0x80, 0xd1, 0xf0, 0x08, 0, 0, 0, 0});  // 150,000,000
    fs::resize_file(huge, 200'000'000);  // sparse: no disk or memory used
    CHECK(open_error(huge).find("exceeds the 100 MB") != std::string::npos);
  }
  SUBCASE("malformed JSON, a non-object header, duplicate names") {
    CHECK(open_error(make("bad.safetensors", safetensors_bytes("{\"a\": {\"dtype\": ", {})))
              .find("bad.safetensors: malformed header JSON") != std::string::npos);
    CHECK(open_error(make("array.safetensors", safetensors_bytes("[1, 2]", {}))).find("not a JSON object") != std::string::npos);
    std::string twice = R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})";
    CHECK(open_error(make("twice.safetensors", safetensors_bytes(twice, four_floats))).find("names 'w' twice") != std::string::npos);
  }
  SUBCASE("unknown dtype, wrong sizes, bad fields") {
    std::string message = open_error(make("dtype.safetensors", safetensors_bytes(R"({"w": {"dtype": "F8_E4M3", "shape": [16], "data_offsets": [0, 16]}})", four_floats)));
    CHECK(message.find("dtype.safetensors: tensor 'w' has unknown dtype 'F8_E4M3'") != std::string::npos);
    message = open_error(make("size.safetensors", safetensors_bytes(R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}})", four_floats)));
    CHECK(message.find("tensor 'w' spans 16 bytes but its shape [3] of F32 needs 12") != std::string::npos);
    message = open_error(make("neg.safetensors", safetensors_bytes(R"({"w": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}})", four_floats)));
    CHECK(message.find("tensor 'w' has a shape entry") != std::string::npos);
    message = open_error(make("huge.safetensors", safetensors_bytes(R"({"w": {"dtype": "F64", "shape": [4294967296, 4294967296], "data_offsets": [0, 16]}})", four_floats)));
    CHECK(message.find("shape too large") != std::string::npos);
    message = open_error(make("nooff.safetensors", safetensors_bytes(R"({"w": {"dtype": "F32", "shape": [4]}})", four_floats)));
    CHECK(message.find("lacks 'data_offsets'") != std::string::npos);
    message = open_error(make("meta.safetensors", safetensors_bytes(R"({"__metadata__": {"n": 1}})", {})));
    CHECK(message.find("'__metadata__' value 'n' must be a string") != std::string::npos);
  }
  SUBCASE("overlapping or out-of-range offsets") {
    std::string overlap = R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})";
    CHECK(open_error(make("overlap.safetensors", safetensors_bytes(overlap, four_floats)))
              .find("overlap.safetensors: tensor 'b' overlaps tensor 'a'") != std::string::npos);
    std::string beyond = R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}})";
    CHECK(open_error(make("beyond.safetensors", safetensors_bytes(beyond, four_floats)))
              .find("beyond.safetensors: tensor 'a' has data_offsets [8, 24] outside the data area of 16 bytes") != std::string::npos);
    std::string reversed = R"({"a": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}})";
    CHECK(open_error(make("reversed.safetensors", safetensors_bytes(reversed, four_floats))).find("outside the data area") != std::string::npos);
  }
  SUBCASE("shards: missing, or lacking a tensor the index places there") {
    fs::create_directories(dir / "sharded");
    capbench::write_safetensors(dir / "sharded/part-1.safetensors", {{"a", torch::ones({2})}});
    auto index = [&](const std::string& text) {
      std::ofstream(dir / "sharded/model.safetensors.index.json") << text;
      return dir / "sharded";
    };
    std::string message = open_error(index(R"({"weight_map": {"a": "part-1.safetensors", "b": "part-2.safetensors"}})"));
    CHECK(message.find("model.safetensors.index.json: shard 'part-2.safetensors' (holding 'b') is missing") != std::string::npos);
    message = open_error(index(R"({"weight_map": {"a": "part-1.safetensors", "c": "part-1.safetensors"}})"));
    CHECK(message.find("part-1.safetensors: lacks tensor 'c' that model.safetensors.index.json places there") != std::string::npos);
    CHECK(open_error(index(R"({"weight_map": {"a": "../part-1.safetensors"}})")).find("must be a file name inside the folder") != std::string::npos);
    CHECK(open_error(index(R"({"metadata": {}})")).find("lacks the object 'weight_map'") != std::string::npos);
    CHECK(open_error(index(R"({"weight_map": )")).find("malformed JSON") != std::string::npos);
    CHECK((Checkpoint::open(index(R"({"weight_map": {"a": "part-1.safetensors"}})")).names() == std::vector<std::string>{"a"}));
  }
  SUBCASE("folders without weights, or with weights under names a snapshot does not use") {
    fs::create_directories(dir / "nothing");
    std::ofstream(dir / "nothing/config.json") << "{}";
    CHECK(open_error(dir / "nothing").find("nothing: no weights: none of model.safetensors, model.safetensors.index.json, "
                                           "pytorch_model.bin, pytorch_model.bin.index.json") != std::string::npos);
    fs::create_directories(dir / "other");
    std::ofstream(dir / "other/weights.pth") << "PK";
    std::ofstream(dir / "other/a.safetensors") << "";
    std::string message = open_error(dir / "other");
    CHECK(message.find("(it holds a.safetensors, weights.pth; pass one of those files") != std::string::npos);
    fs::create_directories(dir / "pickle");
    std::ofstream(dir / "pickle/pytorch_model.bin") << "PK";
    CHECK(open_error(dir / "pickle").find("pytorch_model.bin: empty or truncated (2 bytes)") != std::string::npos);
    CHECK(open_error(dir / "absent").find("absent: no such checkpoint folder or file") != std::string::npos);
  }
}

TEST_CASE("capbench inspect lists every tensor of the three shards with totals and model type") {
  Checkpoint checkpoint = Checkpoint::open(fixture("blip2-opt-tiny-sharded"));
  auto [status, out] = run_capbench("inspect '" + fixture("blip2-opt-tiny-sharded").string() + "' --json");
  REQUIRE_MESSAGE(status == 0, out);
  nlohmann::json json = nlohmann::json::parse(out);
  REQUIRE(json["tensors"].size() == checkpoint.names().size());
  int64_t parameters = 0;
  for (size_t i = 0; i < json["tensors"].size(); ++i) {
    const auto& row = json["tensors"][i];
    const auto& info = checkpoint.info(checkpoint.names()[i]);
    CHECK(row["name"].get<std::string>() == info.name);
    CHECK(row["dtype"].get<std::string>() == "BF16");
    CHECK((row["shape"].get<std::vector<int64_t>>() == info.shape));
    CHECK(row["file"].get<std::string>() == info.file.filename().string());
    parameters += at::IntArrayRef(info.shape).size() ? c10::multiply_integers(info.shape) : 1;
  }
  CHECK(json["totals"]["tensors"].get<size_t>() == checkpoint.names().size());
  CHECK(json["totals"]["parameters"].get<int64_t>() == parameters);
  nlohmann::json index = nlohmann::json::parse(read_bytes(fixture("blip2-opt-tiny-sharded/model.safetensors.index.json")));
  CHECK(json["totals"]["bytes"]["BF16"].get<uint64_t>() == index["metadata"]["total_size"].get<uint64_t>());
  CHECK(json["model_type"].get<std::string>() == "blip-2");
  CHECK(json["text_model_type"].get<std::string>() == "opt");

  auto [table_status, table] = run_capbench("inspect '" + fixture("blip2-opt-tiny-sharded").string() + "'");
  CHECK(table_status == 0);
  for (const auto& name : checkpoint.names()) CHECK_MESSAGE(table.find(name) != std::string::npos, name);
  for (const char* shard : {"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"})
    CHECK(table.find(shard) != std::string::npos);
  CHECK(table.find("blip-2") != std::string::npos);

  TempDir dir;
  auto [bad_status, bad] = run_capbench("inspect '" + dir.path().string() + "'");
  CHECK(bad_status == 1);
  CHECK(bad.find("no weights") != std::string::npos);
  CHECK(std::count(bad.begin(), bad.end(), '\n') == 1);
}
