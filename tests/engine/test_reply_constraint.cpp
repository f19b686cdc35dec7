// Token masking for tool calls on the real Qwen2.5 vocabulary (151,936 tokens): the fast mask
// must agree with checking every token on its own, and sampling under the constraint from
// random logits must always give a call that parses and follows the schema.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/constrained/reply_constraint.h"
#include "engine/gguf.h"
#include "engine/sampler.h"
#include "engine/tokenizer.h"
#include "engine/tool_dialect.h"
#include "test_paths.h"

using namespace toolgate::engine;
using namespace toolgate::engine::constrained;
using json = nlohmann::json;

namespace {

class QwenVocabulary : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto path = toolgate::testing::tool_model();
    if (path.empty() || !std::filesystem::exists(path)) return;
    file_ = GgufFile::open(path).release();
    tokenizer_ = Tokenizer::from_gguf(*file_).release();
    index_ = new std::shared_ptr<const TokenByteIndex>(std::make_shared<TokenByteIndex>(*tokenizer_));
  }
  static void TearDownTestSuite() {
    delete index_;
    delete tokenizer_;
    delete file_;
    index_ = nullptr;
    tokenizer_ = nullptr;
    file_ = nullptr;
  }
  void SetUp() override {
    if (!index_) GTEST_SKIP() << "tool model not fetched";
  }

  static std::shared_ptr<const ToolCallGrammar> grammar(ConstraintMode mode, bool parallel = true,
                                                        std::optional<std::string> only = {}) {
    auto d = make_tool_dialect("<tool_call>", "qwen2");
    std::vector<ToolSpec> tools = {
        {"get_weather", json::parse(R"({"type": "object", "properties": {
            "city": {"type": "string", "maxLength": 24},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer"},
            "alerts": {"type": "array", "items": {"type": "boolean"}, "maxItems": 3},
            "where": {"type": "object", "properties": {"lat": {"type": "number"},
                                                       "exact": {"type": "boolean"}},
                      "required": ["lat"]}},
            "required": ["city", "days"]})")},
        {"get_time", json::parse(R"({"type": "object", "properties": {
            "zone": {"type": "string", "enum": ["UTC", "CET", "PST"]}}, "required": ["zone"]})")},
        {"search", json::parse(R"({"type": "object", "properties": {
            "query": {"type": "string", "maxLength": 40}}, "required": ["query"]})")},
    };
    return std::make_shared<ToolCallGrammar>(
        ToolCallGrammarOptions{d->call_format(), tools, only, mode, parallel});
  }

  // The mask (trie walk, string-safe shortcut, free-text shortcut) against allows() per token.
  static void expect_mask_agrees(ReplyConstraint& constraint) {
    const std::vector<uint8_t> mask = constraint.allowed_tokens();
    size_t allowed = 0;
    for (int32_t id = 0; id < tokenizer_->n_vocab(); ++id) {
      ASSERT_EQ(mask[static_cast<size_t>(id)] != 0, constraint.allows(id))
          << "token " << id << " '" << tokenizer_->token_to_piece(id, true) << "'";
      allowed += mask[static_cast<size_t>(id)];
    }
    EXPECT_GT(allowed, 0u);
  }

  // One reply sampled under `constraint` from random logits, the worst a model can do: each
  // step's logits are a window at a random offset into one pool of Gaussian noise (random for
  // every token and step, without drawing 150k normals per step). Returns the text and whether
  // an end-of-generation token came within `max_steps`; the constraint must never give up.
  static std::pair<std::string, bool> random_reply(ReplyConstraint& constraint, uint64_t seed,
                                                   int max_steps) {
    const int32_t n_vocab = tokenizer_->n_vocab();
    constexpr size_t kShift = 1 << 16;
    static const std::vector<float> pool = [&] {
      std::vector<float> p(static_cast<size_t>(n_vocab) + kShift);
      std::mt19937 pool_rng(7);
      std::normal_distribution<float> noise(0.0f, 3.0f);
      for (float& x : p) x = noise(pool_rng);
      return p;
    }();
    SamplingParams params;
    params.temperature = 1.0f;
    params.seed = seed;
    Sampler sampler(params, n_vocab);
    std::mt19937 rng(static_cast<uint32_t>(seed));
    std::vector<float> logits(static_cast<size_t>(n_vocab)), saved;
    std::vector<int32_t> generated;
    std::string text;
    for (int step = 0; step < max_steps; ++step) {
      const size_t shift = rng() % kShift;
      std::copy(pool.begin() + static_cast<std::ptrdiff_t>(shift),
                pool.begin() + static_cast<std::ptrdiff_t>(shift) + n_vocab, logits.begin());
      saved = logits;
      SampledToken tok = sampler.sample(logits, {}, generated);
      if (!constraint.allows(tok.id)) {
        logits = saved;
        constraint.mask(logits);
        tok = sampler.sample(logits, {}, generated);
      }
      constraint.accept(tok.id);
      EXPECT_TRUE(constraint.active());
      generated.push_back(tok.id);
      if (tokenizer_->is_eog(tok.id)) return {text, true};
      text += tokenizer_->token_to_piece(tok.id);
    }
    return {text, false};
  }

  static inline GgufFile* file_ = nullptr;
  static inline Tokenizer* tokenizer_ = nullptr;
  static inline std::shared_ptr<const TokenByteIndex>* index_ = nullptr;
};

}  // namespace

TEST_F(QwenVocabulary, TokenClassesFollowTheVocabulary) {
  const TokenByteIndex& index = **index_;
  ASSERT_EQ(index.n_vocab(), tokenizer_->n_vocab());
  const int32_t im_end = tokenizer_->find_token("<|im_end|>");
  const int32_t im_start = tokenizer_->find_token("<|im_start|>");
  const int32_t open = tokenizer_->find_token("<tool_call>");
  ASSERT_GE(im_end, 0);
  ASSERT_GE(open, 0);
  EXPECT_EQ(index.token_class(im_end), TokenByteIndex::Class::EndOfGeneration);
  EXPECT_EQ(index.token_class(im_start), TokenByteIndex::Class::Never);
  EXPECT_EQ(index.token_class(open), TokenByteIndex::Class::Text);
  EXPECT_EQ(index.bytes(open), "<tool_call>");
  const auto hello = tokenizer_->encode("hello", false, false);
  ASSERT_EQ(hello.size(), 1u);
  EXPECT_TRUE(index.string_safe()[static_cast<size_t>(hello[0])]);
  const auto quote = tokenizer_->encode("\"", false, false);
  EXPECT_FALSE(index.string_safe()[static_cast<size_t>(quote[0])]);
  size_t safe = 0;
  for (uint8_t s : index.string_safe()) safe += s;
  EXPECT_GT(safe, 100000u);  // most of the vocabulary: the fast path inside strings
  EXPECT_LT(index.not_string_safe().size(), index.all_text().size() / 4);
}

// The mask (trie walk, string-safe shortcut, free-text shortcut) against allows() per token.
TEST_F(QwenVocabulary, MaskAgreesWithCheckingEveryToken) {
  struct Case {
    ConstraintMode mode;
    std::string already;
  };
  const std::string call = "<tool_call>\n{\"name\": \"";
  const std::vector<Case> cases = {
      {ConstraintMode::Forced, call},
      {ConstraintMode::Forced, call + "get_"},
      {ConstraintMode::Forced, call + "get_weather\", \"arguments\": "},
      {ConstraintMode::Forced, call + "get_weather\", \"arguments\": {"},
      {ConstraintMode::Forced, call + "get_weather\", \"arguments\": {\"ci"},
      {ConstraintMode::Forced, call + "get_weather\", \"arguments\": {\"city\": \"Pa"},
      {ConstraintMode::Forced, call + "search\", \"arguments\": {\"query\": \"caf"},
      {ConstraintMode::Forced, call + "search\", \"arguments\": {\"query\": \"caf\xC3"},
      {ConstraintMode::Forced, call + "search\", \"arguments\": {\"query\": \"a\\"},
      {ConstraintMode::Forced, call + "get_weather\", \"arguments\": {\"city\": \"Oslo\", \"days\": 1"},
      {ConstraintMode::Forced, call + "get_weather\", \"arguments\": {\"city\": \"x\", \"days\": 1, \"unit\": \"c"},
      {ConstraintMode::Forced, call + "get_time\", \"arguments\": {\"zone\": \"C"},
      {ConstraintMode::Forced, call + "get_time\", \"arguments\": {\"zone\": \"UTC\"}}"},
      {ConstraintMode::Forced, call + "get_time\", \"arguments\": {\"zone\": \"UTC\"}}\n</tool_call>"},
      {ConstraintMode::Lazy, ""},
      {ConstraintMode::Lazy, "Let me see. "},
      {ConstraintMode::Lazy, "<tool_"},
      {ConstraintMode::Lazy, "<tool_call>"},
      {ConstraintMode::Lazy, "{\"name\": \"get_time\", \"arguments\": {"},
      {ConstraintMode::Lazy, "```json\n{\"name\": \"get_"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.already);
    ReplyConstraint constraint(grammar(c.mode), *index_, c.already);
    expect_mask_agrees(constraint);
  }
}

TEST_F(QwenVocabulary, EndOfTurnOnlyOnceTheCallIsComplete) {
  const int32_t im_end = tokenizer_->find_token("<|im_end|>");
  ReplyConstraint open(grammar(ConstraintMode::Forced), *index_,
                          "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"UTC\"}}");
  EXPECT_FALSE(open.allows(im_end));
  open.accept(tokenizer_->find_token("</tool_call>") >= 0 ? tokenizer_->find_token("</tool_call>")
                                                          : -1);
  EXPECT_TRUE(open.active());
  EXPECT_TRUE(open.allows(im_end));
  EXPECT_FALSE(open.allows(tokenizer_->find_token("<|im_start|>")));
}

// Sampling from random logits is the worst a model can do; the constraint alone must still
// lead every generation to a complete call that parses and follows the schema. (Its strings
// have a maxLength: a free-form string ends only when the model closes it, and random logits
// almost never pick one of the few tokens that do.)
TEST_F(QwenVocabulary, RandomLogitsAlwaysGiveValidCalls) {
  auto dialect = make_tool_dialect("<tool_call>", "qwen2");
  const std::string prefix = dialect->forced_call_prefix(std::nullopt);
  auto g = grammar(ConstraintMode::Forced, /*parallel=*/false);
  std::map<std::string, int> names;
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    ReplyConstraint constraint(g, *index_, prefix);
    auto [reply, ended] = random_reply(constraint, seed, 600);
    const std::string text = prefix + reply;
    ASSERT_TRUE(ended) << text;
    auto parser = dialect->make_parser();
    auto out = parser->feed(text);
    auto fin = parser->finish();
    out.content += fin.content;
    for (auto& c : fin.tool_calls) out.tool_calls.push_back(c);
    ASSERT_EQ(out.tool_calls.size(), 1u) << text;
    EXPECT_EQ(out.content, "") << text;
    const auto& call = out.tool_calls[0];
    ++names[call.name];
    json args = json::parse(call.arguments);
    if (call.name == "get_weather") {
      ASSERT_TRUE(args.at("city").is_string()) << text;
      EXPECT_LE(args["city"].get<std::string>().size(), 24u * 4);
      ASSERT_TRUE(args.at("days").is_number_integer()) << text;
      if (args.contains("unit")) {
        EXPECT_TRUE(args["unit"] == "celsius" || args["unit"] == "fahrenheit") << text;
      }
      if (args.contains("alerts")) {
        ASSERT_TRUE(args["alerts"].is_array());
        EXPECT_LE(args["alerts"].size(), 3u);
        for (const auto& a : args["alerts"]) EXPECT_TRUE(a.is_boolean()) << text;
      }
      if (args.contains("where")) {
        EXPECT_TRUE(args["where"].at("lat").is_number()) << text;
      }
      for (auto it = args.begin(); it != args.end(); ++it)
        EXPECT_TRUE(it.key() == "city" || it.key() == "unit" || it.key() == "days" ||
                    it.key() == "alerts" || it.key() == "where")
            << text;
    } else if (call.name == "get_time") {
      EXPECT_TRUE(args.at("zone") == "UTC" || args["zone"] == "CET" || args["zone"] == "PST");
      EXPECT_EQ(args.size(), 1u);
    } else {
      ASSERT_EQ(call.name, "search");
      ASSERT_TRUE(args.at("query").is_string());
      EXPECT_LE(args["query"].get<std::string>().size(), 40u * 4);
    }
  }
  EXPECT_GE(names.size(), 2u);  // the name is drawn too, not fixed
}

// ---- JSON answers (response_format) ---------------------------------------------------------

namespace {

// A schema with a union, bounded numbers, a tuple, an enum, a nested array and a pattern-free
// bounded string: what the random-logits test below checks field by field.
const char* kAnswerSchema = R"({"type": "object", "properties": {
    "id": {"type": "integer", "minimum": 100, "maximum": 999},
    "score": {"type": "number", "minimum": 0, "maximum": 1},
    "label": {"type": "string", "enum": ["cat", "dog", "bird"]},
    "note": {"anyOf": [{"type": "string", "maxLength": 12}, {"type": "null"}]},
    "point": {"type": "array", "prefixItems": [{"type": "integer", "minimum": -5, "maximum": 5},
                                               {"type": "boolean"}], "items": false, "minItems": 2},
    "tags": {"type": "array", "items": {"type": "string", "maxLength": 6}, "maxItems": 2}},
  "required": ["id", "score", "label", "note", "point"], "additionalProperties": false})";

std::shared_ptr<const ReplyGrammar> answer_grammar(const char* schema) {
  return std::make_shared<ReplyGrammar>(
      nullptr, compile_schema(nlohmann::ordered_json::parse(schema), false));
}

}  // namespace

TEST_F(QwenVocabulary, AnswerMaskAgreesWithCheckingEveryToken) {
  auto g = answer_grammar(kAnswerSchema);
  for (const char* already :
       {"", "{", "{\"id\": 1", "{\"id\": 123, \"sc", "{\"id\": 123, \"score\": 0.",
        "{\"id\": 123, \"score\": 1, \"label\": \"", "{\"id\": 123, \"score\": 1, \"label\": \"dog\", \"note\": ",
        "{\"id\": 123, \"score\": 1, \"label\": \"dog\", \"note\": \"ab",
        "{\"id\": 123, \"score\": 1, \"label\": \"dog\", \"note\": null, \"point\": [-",
        "{\"id\": 123, \"score\": 1, \"label\": \"dog\", \"note\": null, \"point\": [3, true]}"}) {
    SCOPED_TRACE(already);
    ReplyConstraint constraint(g, *index_, already);
    expect_mask_agrees(constraint);
  }
  // Once the value is complete only the end of the turn may follow.
  ReplyConstraint done(g, *index_,
                       "{\"id\": 123, \"score\": 1, \"label\": \"dog\", \"note\": null, \"point\": [3, true]}");
  EXPECT_TRUE(done.allows(tokenizer_->find_token("<|im_end|>")));
  EXPECT_FALSE(done.allows(tokenizer_->encode(" ", false, false)[0]));
}

TEST_F(QwenVocabulary, RandomLogitsAlwaysGiveValidAnswers) {
  auto g = answer_grammar(kAnswerSchema);
  std::set<std::string> labels;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    ReplyConstraint constraint(g, *index_);
    auto [text, ended] = random_reply(constraint, seed, 800);
    ASSERT_TRUE(ended) << text;
    json v = json::parse(text);  // throws (fails the test) on anything but one JSON value
    ASSERT_TRUE(v.is_object()) << text;
    EXPECT_TRUE(v.at("id").is_number_integer() && v["id"] >= 100 && v["id"] <= 999) << text;
    EXPECT_TRUE(v.at("score").is_number() && v["score"] >= 0 && v["score"] <= 1) << text;
    labels.insert(v.at("label").get<std::string>());
    EXPECT_TRUE(v.at("note").is_null() || v["note"].is_string()) << text;
    ASSERT_TRUE(v.at("point").is_array() && v["point"].size() == 2) << text;
    EXPECT_TRUE(v["point"][0].is_number_integer() && v["point"][0] >= -5 && v["point"][0] <= 5);
    EXPECT_TRUE(v["point"][1].is_boolean());
    if (v.contains("tags")) EXPECT_LE(v["tags"].size(), 2u);
    for (auto it = v.begin(); it != v.end(); ++it)
      EXPECT_TRUE(it.key() == "id" || it.key() == "score" || it.key() == "label" ||
                  it.key() == "note" || it.key() == "point" || it.key() == "tags");
  }
  EXPECT_GE(labels.size(), 2u);
}

TEST_F(QwenVocabulary, AnswerBesideLazyCallsCannotSlipIntoFreeText) {
  auto calls = grammar(ConstraintMode::Lazy);
  auto answer = compile_schema(nlohmann::ordered_json::parse(R"({"type":"object","properties":{
      "result":{"type":"integer"},"explanation":{"type":"string"}},"required":["result","explanation"],
      "additionalProperties":false})"), false);
  auto g = std::make_shared<ReplyGrammar>(calls, answer);
  ReplyConstraint c(g, *index_, "\n{\"result\":7006652");
  const auto close = tokenizer_->encode("}", false, false);
  ASSERT_EQ(close.size(), 1u);
  EXPECT_FALSE(c.allows(close[0]));
  EXPECT_FALSE(c.allowed_tokens()[static_cast<size_t>(close[0])]);
  EXPECT_TRUE(c.allows(tokenizer_->encode(",", false, false)[0]));
  // Beside an answer there is no free text: a reply is the answer or calls only, in any form
  // (Qwen writes bare JSON calls), and nothing may follow the calls but more calls.
  ReplyConstraint text(g, *index_);
  EXPECT_FALSE(text.allows(tokenizer_->encode("Let", false, false)[0]));
  EXPECT_TRUE(text.allows(tokenizer_->find_token("<tool_call>")));
  ReplyConstraint bare(g, *index_, "{\"name\": \"get_time\", \"arguments\": {\"zone\": \"UTC\"}}");
  EXPECT_TRUE(bare.allows(tokenizer_->find_token("<|im_end|>")));
  EXPECT_TRUE(bare.allows(tokenizer_->encode("\n", false, false)[0]));
  EXPECT_FALSE(bare.allows(tokenizer_->encode("Done", false, false)[0]));
}
