// Jinja2 semantics of the chat-template engine, one behaviour per test.
#include <gtest/gtest.h>

#include "engine/chat_template.h"

using nlohmann::json;
using toolgate::engine::ChatTemplate;
using toolgate::engine::TemplateError;

namespace {

std::string render(const std::string& source, const json& vars = json::object()) {
  return ChatTemplate::create(source, {"<s>", "</s>"})->render(json::array(), nullptr, false, vars);
}

std::string error_of(const std::string& source, const json& vars = json::object()) {
  try {
    render(source, vars);
  } catch (const TemplateError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(JinjaWhitespace, TrimBlocksDropsTheNewlineAfterABlockTag) {
  EXPECT_EQ(render("{% if true %}\nyes\n{% endif %}\nafter"), "yes\nafter");
}

TEST(JinjaWhitespace, LstripBlocksDropsIndentBeforeABlockTag) {
  EXPECT_EQ(render("<ul>\n  {% for x in [1, 2] %}\n  <li>{{ x }}</li>\n  {% endfor %}\n</ul>"),
            "<ul>\n  <li>1</li>\n  <li>2</li>\n</ul>");
}

TEST(JinjaWhitespace, LstripDoesNotApplyToExpressionsOrMidLineTags) {
  EXPECT_EQ(render("  {{ 1 }}\nx  {% if true %}y{% endif %}"), "  1\nx  y");
}

TEST(JinjaWhitespace, DashModifiersStripAllWhitespaceIncludingNewlines) {
  EXPECT_EQ(render("a  \n  {{- 'b' -}}  \n  c"), "abc");
  EXPECT_EQ(render("a\n{%- if true -%}\n  b\n{%- endif -%}\n c"), "abc");
}

TEST(JinjaWhitespace, PlusModifierKeepsWhitespace) {
  EXPECT_EQ(render("x\n  {%+ if true %}y{% endif +%}\nz"), "x\n  y\nz");
}

TEST(JinjaWhitespace, CommentsAreRemovedAndTrimmedLikeBlocks) {
  EXPECT_EQ(render("a\n  {# note #}\nb{#- x -#}  c"), "a\nbc");
}

TEST(JinjaWhitespace, OneTrailingNewlineOfTheTemplateIsDropped) {
  EXPECT_EQ(render("x\n\n"), "x\n");
  EXPECT_EQ(render("x\r\ny\r\n"), "x\ny");
}

TEST(JinjaWhitespace, RawBlocksAreLiteral) { EXPECT_EQ(render("{% raw %}{{ x }}{% endraw %}"), "{{ x }}"); }

TEST(JinjaLoops, LoopVariables) {
  EXPECT_EQ(render("{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}"
                   "{{ loop.length }}{{ loop.revindex }};{% endfor %}"),
            "10TrueFalse33;21FalseFalse32;32FalseTrue31;");
}

TEST(JinjaLoops, FilteredLoopCountsOnlyMatchingItemsAndElseRunsWhenEmpty) {
  EXPECT_EQ(render("{% for x in [1, 2, 3, 4] if x is even %}{{ x }}/{{ loop.length }} {% endfor %}"), "2/2 4/2 ");
  EXPECT_EQ(render("{% for x in [] %}{{ x }}{% else %}empty{% endfor %}"), "empty");
}

TEST(JinjaLoops, PrevNextItemCycleBreakContinue) {
  EXPECT_EQ(render("{% for x in [1, 2, 3] %}{{ loop.previtem }}-{{ loop.nextitem }}|{% endfor %}"), "-2|1-3|2-|");
  EXPECT_EQ(render("{% for x in range(10) %}{% if x == 1 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}"
                   "{% endif %}{{ loop.cycle('a', 'b') }}{{ x }}{% endfor %}"),
            "a0a2b3");
}

TEST(JinjaLoops, DictIterationAndTupleUnpacking) {
  json vars = json::parse(R"({"d": {"a": 1, "b": [2, 3]}})");
  EXPECT_EQ(render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k in d %}{{ k }}{% endfor %}", vars),
            "a=1;b=[2, 3];ab");
}

TEST(JinjaScoping, SetInsideLoopDoesNotLeakButNamespaceDoes) {
  EXPECT_EQ(render("{% set x = 1 %}{% set ns = namespace(y=1) %}{% for i in [5] %}{% set x = i %}"
                   "{% set ns.y = i %}{% endfor %}{{ x }} {{ ns.y }}"),
            "1 5");
}

TEST(JinjaScoping, SetInsideIfIsVisibleAfterwards) {
  EXPECT_EQ(render("{% if true %}{% set x = 'in' %}{% endif %}{{ x }}"), "in");
}

TEST(JinjaSet, BlockSetTupleUnpackingAndFilteredBlockSet) {
  EXPECT_EQ(render("{% set a, b = [1, 2] %}{% set c %}x{{ a + b }}{% endset %}{{ c }}"
                   "{% set d | upper %}hi{% endset %}{{ d }}"),
            "x3HI");
}

TEST(JinjaMacros, DefaultsKeywordsAndCaller) {
  EXPECT_EQ(render("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}"
                   "{{ greet('A') }} {{ greet('B', punct='?') }} {{ greet(name='C') }}"),
            "Hi A! Hi B? Hi C!");
  EXPECT_EQ(render("{% macro wrap() %}[{{ caller() }}]{% endmacro %}{% call wrap() %}in{% endcall %}"), "[in]");
}

TEST(JinjaMacros, MacrosSeeTopLevelVariablesAndRecurse) {
  EXPECT_EQ(render("{% set sep = ',' %}{% macro count(n) %}{% if n > 0 %}{{ n }}{{ sep }}{{ count(n - 1) }}"
                   "{% endif %}{% endmacro %}{{ count(3) }}"),
            "3,2,1,");
}

TEST(JinjaExpressions, ArithmeticFollowsPython) {
  EXPECT_EQ(render("{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 4 / 2 }} {{ 2 ** 10 }} {{ 1 + 2 * 3 }}"),
            "3 -4 2 3.5 2.0 1024 7");
  EXPECT_EQ(render("{{ 'ab' * 3 }} {{ [1] + [2] }} {{ 1 ~ 'x' ~ none }} {{ 0.1 + 0.2 }} {{ 1e20 }}"),
            "ababab [1, 2] 1xNone 0.30000000000000004 1e+20");
}

// Found by fuzz_chat_template (CI, 2026-12-02): a float literal past double's range and an
// out-of-range index after '.' escaped the parser as std::out_of_range and ended the process.
TEST(JinjaExpressions, LiteralsOutOfRangeFollowPythonOrFailCleanly) {
  EXPECT_EQ(render("{{ 1e999 }} {{ -1.5e400 }} {{ 1e-999 }}"), "inf -inf 0.0");
  EXPECT_NE(error_of("{{ x.99999999999999999999 }}").find("integer literal out of range"), std::string::npos);
  EXPECT_NE(error_of("{{ 99999999999999999999 }}").find("integer literal out of range"), std::string::npos);
}

TEST(JinjaExpressions, ComparisonsMembershipLogicAndTernary) {
  EXPECT_EQ(render("{{ 1 < 2 and 'a' in 'cat' and 3 not in [1, 2] and not false }} {{ 0 or 'x' }} {{ 1 and 2 }}"
                   " {{ 'y' if 1 == 1.0 else 'n' }} {{ 'k' in {'k': 1} }}"),
            "True x 2 y True");
}

TEST(JinjaExpressions, SubscriptsSlicesAndAttributes) {
  json vars = json::parse(R"({"m": {"role": "user", "list": [1, 2, 3, 4]}})");
  EXPECT_EQ(render("{{ m.role }} {{ m['role'] }} {{ m.list[-1] }} {{ m.list[1:3] }} {{ m.list[::-1] }}"
                   " {{ 'héllo'[1:3] }} {{ 'abc'[-1] }} {{ m.list.1 }}",
                   vars),
            "user user 4 [2, 3] [4, 3, 2, 1] él c 2");
}

TEST(JinjaExpressions, LiteralsPrintAsPythonWould) {
  EXPECT_EQ(render("{{ none }} {{ true }} {{ [1, 'a', none, {'k': \"it's\"}] }} {{ (1, 2) }}"),
            "None True [1, 'a', None, {'k': \"it's\"}] (1, 2)");
}

TEST(JinjaUndefined, IsFalsyEmptyAndChainable) {
  json vars = json::parse(R"({"m": {"role": "user"}})");
  EXPECT_EQ(render("[{{ nope }}][{{ m.content }}][{{ nope.deeper.still }}][{{ m.missing | length }}]"
                   "{% if not nope %}falsy{% endif %}{% for x in nope %}never{% endfor %}",
                   vars),
            "[][][][0]falsy");
  EXPECT_EQ(render("{{ nope is defined }} {{ m.role is defined }} {{ nope | default('d') }} {{ '' | default('e', true) }}",
                   vars),
            "False True d e");
}

TEST(JinjaTests, TypeTests) {
  json vars = json::parse(R"({"s": "x", "n": 1.5, "i": 2, "l": [1], "d": {}, "z": null, "b": true})");
  EXPECT_EQ(render("{{ s is string }}{{ n is number }}{{ i is integer }}{{ n is float }}{{ l is sequence }}"
                   "{{ d is mapping }}{{ l is mapping }}{{ z is none }}{{ z is not none }}{{ b is true }}"
                   "{{ b is false }}{{ l is iterable }}{{ i is odd }}{{ i is divisibleby 2 }}{{ s is in 'xyz' }}",
                   vars),
            "TrueTrueTrueTrueTrueTrueFalseTrueFalseTrueFalseTrueFalseTrueTrue");
}

TEST(JinjaFilters, ToJsonUsesPythonSpacingAndKeepsUnicode) {
  json vars = json::parse(R"({"v": {"b": [1, 2.5, true, null], "a": "héllo \"q\" \n </tag>"}})");
  EXPECT_EQ(render("{{ v | tojson }}", vars), R"({"a": "héllo \"q\" \n </tag>", "b": [1, 2.5, true, null]})");
  EXPECT_EQ(render("{{ [1, {'k': 'v'}] | tojson(indent=2) }}"), "[\n  1,\n  {\n    \"k\": \"v\"\n  }\n]");
  EXPECT_EQ(render("{{ 'é' | tojson(ensure_ascii=true) }} {{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}"),
            "\"\\u00e9\" {\"a\": 2, \"b\": 1}");
}

TEST(JinjaFilters, StringFilters) {
  EXPECT_EQ(render("{{ '  x ' | trim }}|{{ 'ab' | upper }}|{{ 'AB' | lower }}|{{ 'hello world' | capitalize }}|"
                   "{{ 'a-b' | replace('-', '+') }}|{{ 'héllo' | length }}|{{ 42 | string }}|{{ '7' | int + 1 }}|"
                   "{{ 'x' | int }}|{{ 2.567 | round(2) }}|{{ 2.5 | round }}|{{ 'a\\nb' | indent(2) }}|"
                   "{{ 'a\\nb' | indent(2, true) }}|{{ 'z' | safe }}"),
            "x|AB|ab|Hello world|a+b|5|42|8|0|2.57|2.0|a\n  b|  a\n  b|z");
}

TEST(JinjaFilters, SequenceFilters) {
  json vars = json::parse(R"({"users": [{"name": "a", "admin": true}, {"name": "b", "admin": false},
    {"name": "c"}], "d": {"y": 1, "x": 2}})");
  EXPECT_EQ(render("{{ users | map(attribute='name') | join(',') }}|{{ users | selectattr('admin') | list | length }}|"
                   "{{ users | rejectattr('admin') | map(attribute='name') | list }}|"
                   "{{ users | selectattr('name', 'equalto', 'b') | first }}|{{ [3, 1, 2] | sort }}|"
                   "{{ [1, 2] | last }}|{{ d | items | list }}|{{ d | dictsort }}|{{ [1, 1, 2] | unique | list }}|"
                   "{{ [1, 2, 3] | select('odd') | list }}|{{ ['a', 'b'] | map('upper') | join }}|{{ [3, 1] | min }}|"
                   "{{ [1, 2] | sum }}|{{ 'ab' | list }}|{{ [1, 2] | reverse | list }}",
                   vars),
            // nlohmann::json sorts keys, so dicts from the caller iterate in key order.
            "a,b,c|1|['b', 'c']|{'admin': False, 'name': 'b'}|[1, 2, 3]|2|[('x', 2), ('y', 1)]|"
            "[('x', 2), ('y', 1)]|[1, 2]|[1, 3]|AB|1|3|['a', 'b']|[2, 1]");
}

TEST(JinjaMethods, StringMethods) {
  EXPECT_EQ(render("{{ ' x '.strip() }}|{{ 'xxaxx'.lstrip('x') }}|{{ 'a\\n'.rstrip() }}|{{ 'a,b,,c'.split(',') }}|"
                   "{{ ' a  b '.split() }}|{{ 'a<b>c'.split('<b>')[-1] }}|{{ 'abc'.startswith('ab') }}|"
                   "{{ 'abc'.endswith(('x', 'c')) }}|{{ 'aaa'.replace('a', 'b', 2) }}|{{ 'hello world'.title() }}|"
                   "{{ '{} and {name}'.format(1, name='n') }}|{{ 'Ab'.upper() }}{{ 'Ab'.lower() }}|"
                   "{{ 'a b c'.rsplit(' ', 1) }}"),
            "x|axx|a|['a', 'b', '', 'c']|['a', 'b']|c|True|True|bba|Hello World|1 and n|ABab|['a b', 'c']");
}

TEST(JinjaMethods, DictAndListMethods) {
  json vars = json::parse(R"({"d": {"a": 1}})");
  EXPECT_EQ(render("{{ d.get('a') }} {{ d.get('b') }} {{ d.get('b', 2) }} {{ d.keys() | list }} {{ d.values() | list }}"
                   "{% set l = [1] %}{% set _ = l.append(2) %} {{ l }} {{ l.pop() }} {{ l }}",
                   vars),
            "1 None 2 ['a'] [1] [1, 2] 2 [1]");
}

TEST(JinjaGlobals, RaiseExceptionCarriesTheMessage) {
  EXPECT_NE(error_of("{{ raise_exception('Only user and assistant roles are supported!') }}")
                .find("Only user and assistant roles are supported!"),
            std::string::npos);
}

TEST(JinjaGlobals, StrftimeNowAndRange) {
  EXPECT_EQ(render("{{ strftime_now('%Y') | length }} {{ range(3) | list }} {{ range(1, 7, 2) | list }}"),
            "4 [0, 1, 2] [1, 3, 5]");
}

TEST(JinjaErrors, ParseErrorsNameLineAndColumn) {
  EXPECT_EQ(error_of("line one\n{% if x %}\n  {{ x + }}\n{% endif %}"), "3:10: unexpected '}}' in expression");
  EXPECT_EQ(error_of("{% for x in y %}\nno end"), "2:7: unexpected end of template, expected 'else' or 'endfor'");
  EXPECT_EQ(error_of("ok\n  {% frobnicate %}"), "2:6: unknown statement 'frobnicate'");
  EXPECT_EQ(error_of("{{ 'unterminated }}"), "1:4: unterminated string literal");
  EXPECT_EQ(error_of("{% if true %}\n{{ x"), "2:1: unterminated '{{'");
}

TEST(JinjaErrors, RuntimeErrorsNamePositionToo) {
  EXPECT_EQ(error_of("\n  {{ x | nosuchfilter }}"), "2:10: no filter named 'nosuchfilter'");
  EXPECT_EQ(error_of("{{ 1 < 'a' }}"), "1:6: '<' not supported between instances of 'int' and 'str'");
}

TEST(JinjaErrors, DeepRecursionIsAnErrorNotACrash) {
  EXPECT_NE(error_of("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}").find("recursion"), std::string::npos);
}

TEST(ChatTemplateApi, SupportsToolsDetectsTheToolsVariable) {
  EXPECT_TRUE(ChatTemplate::create("{% if tools %}t{% endif %}", {})->supports_tools());
  EXPECT_FALSE(ChatTemplate::create("{{ messages[0].content }}", {})->supports_tools());
}

TEST(ChatTemplateApi, ContentPartsAreJoinedAndNullContentIsEmpty) {
  auto t = ChatTemplate::create("{% for m in messages %}[{{ m.content }}]{% endfor %}", {});
  json messages = json::parse(R"([{"role": "user", "content": [{"type": "text", "text": "a"},
    {"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "b"}]},
    {"role": "assistant", "content": null}])");
  EXPECT_EQ(t->render(messages, nullptr, false), "[a\nb][]");
}

TEST(ChatTemplateApi, TemplatesThatPrintArgumentsGetStrings) {
  auto t = ChatTemplate::create(
      "{% for m in messages %}{% for c in m.tool_calls %}{{ c.function.arguments }}{% endfor %}{% endfor %}", {});
  EXPECT_FALSE(t->wants_object_arguments());
  json messages = json::parse(R"([{"role": "assistant", "content": "", "tool_calls": [{"type": "function",
    "function": {"name": "f", "arguments": {"a": 1}}}]}])");
  EXPECT_EQ(t->render(messages, nullptr, false), "{\"a\": 1}");
}
