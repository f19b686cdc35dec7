#pragma once
// Jinja2 filters and tests, Python str/list/dict methods, and the globals HF's chat-template
// environment provides (range, namespace, dict, raise_exception, strftime_now). Each throws
// std::runtime_error with a Python-like message; the interpreter adds the source position.
#include <optional>
#include <string>

#include "engine/chat_template/value.h"

namespace toolgate::engine::jinja {

// `value | name(args)`. Throws for an unknown filter.
Value apply_filter(const std::string& name, const Value& value, CallArgs& args);
// `value is name(args)`. Throws for an unknown test.
bool apply_test(const std::string& name, const Value& value, CallArgs& args);
// `self.name` when it names a method of self's type (str, list, dict): a bound method.
std::optional<Value> bound_method(const Value& self, const std::string& name);
// HTML escaping as markupsafe does it (& < > " ').
std::string html_escape(const std::string& s);
// Global functions; Undefined for unknown names.
Value global_function(const std::string& name);

}  // namespace toolgate::engine::jinja
