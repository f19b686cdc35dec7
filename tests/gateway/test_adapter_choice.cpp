// Which LoRA adapter a request runs with: the model id's, the "adapter" extension field, or
// llama.cpp's "lora" list; every bad choice is a 400 naming the parameter.
#include "gateway/adapter_choice.h"

#include <gtest/gtest.h>

#include "fakes.h"
#include "gateway/chat_request.h"

namespace toolgate::gateway {
namespace {

using nlohmann::json;

struct Fixture {
  testing::FakeEngine engine{[] {
    testing::FakeEngine::Options o;
    o.adapters = {{"orbit", "orbit.gguf", 1.0f, 1000}, {"code", "code.gguf", 0.5f, 2000}};
    return o;
  }()};
  ServedModel base() {
    ServedModel m;
    m.id = "smol";
    m.engine = &engine;
    return m;
  }
};

ChatCompletionRequest parse(json extra) {
  json body = {{"model", "smol"}, {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  body.update(extra);
  auto p = parse_chat_completion_request(body);
  EXPECT_TRUE(p.request) << (p.errors.empty() ? "" : p.errors.front().message);
  return p.request ? *p.request : ChatCompletionRequest{};
}

std::string param_of(const std::optional<ApiError>& e) { return e && e->param ? *e->param : ""; }

}  // namespace

TEST(AdapterChoice, NoFieldLeavesTheModelIdsChoice) {
  Fixture f;
  auto req = parse(json::object());
  EXPECT_FALSE(choose_adapter(req, f.base()));
  EXPECT_FALSE(req.adapter);
}

TEST(AdapterChoice, AdapterFieldNamesOneOfTheModelsAdapters) {
  Fixture f;
  auto req = parse({{"adapter", "code"}});
  EXPECT_FALSE(choose_adapter(req, f.base()));
  EXPECT_EQ(req.adapter, "code");
  auto base = parse({{"adapter", ""}});
  EXPECT_FALSE(choose_adapter(base, f.base()));
  EXPECT_EQ(base.adapter, "");
  auto bad = parse({{"adapter", "nope"}});
  const auto err = choose_adapter(bad, f.base());
  ASSERT_TRUE(err);
  EXPECT_EQ(err->status, 400);
  EXPECT_EQ(param_of(err), "adapter");
  EXPECT_NE(err->message.find("orbit, code"), std::string::npos) << err->message;
}

TEST(AdapterChoice, LlamaCppLoraListPicksByIndexAtTheConfiguredScale) {
  Fixture f;
  auto req = parse({{"lora", {{{"id", 0}, {"scale", 0.0}}, {{"id", 1}, {"scale", 0.5}}}}});
  EXPECT_FALSE(choose_adapter(req, f.base()));
  EXPECT_EQ(req.adapter, "code");
  auto none = parse({{"lora", json::array()}});
  EXPECT_FALSE(choose_adapter(none, f.base()));
  EXPECT_EQ(none.adapter, "");
  auto out_of_range = parse({{"lora", {{{"id", 2}, {"scale", 1.0}}}}});
  EXPECT_EQ(param_of(choose_adapter(out_of_range, f.base())), "lora[0].id");
  auto other_scale = parse({{"lora", {{{"id", 0}, {"scale", 0.25}}}}});
  EXPECT_EQ(param_of(choose_adapter(other_scale, f.base())), "lora[0].scale");
  auto two = parse({{"lora", {{{"id", 0}, {"scale", 1.0}}, {{"id", 1}, {"scale", 0.5}}}}});
  EXPECT_EQ(param_of(choose_adapter(two, f.base())), "lora[1]");
  auto both = parse({{"adapter", "orbit"}, {"lora", json::array()}});
  EXPECT_EQ(param_of(choose_adapter(both, f.base())), "lora");
}

TEST(AdapterChoice, MalformedLoraIsAParseError) {
  json body = {{"model", "smol"}, {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  body["lora"] = "orbit";
  EXPECT_EQ(parse_chat_completion_request(body).errors.at(0).param, "lora");
  body["lora"] = json::array({{{"scale", 1}}});
  EXPECT_EQ(parse_chat_completion_request(body).errors.at(0).param, "lora[0].id");
  body["lora"] = json::array({{{"id", 0}, {"scale", "big"}}});
  EXPECT_EQ(parse_chat_completion_request(body).errors.at(0).param, "lora[0].scale");
}

}  // namespace toolgate::gateway
