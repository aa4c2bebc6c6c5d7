#include "ctl/yaml_out.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cctype>

namespace taskpoller::ctl {
namespace json = boost::json;
namespace {

// Words YAML 1.1 or 1.2 readers turn into booleans or null.
bool reserved_word(std::string_view s) {
    static constexpr std::array<std::string_view, 22> words{
        "true",  "false", "yes", "no", "on",  "off", "y", "n",    "null", "~",    "True",
        "False", "Yes",   "No",  "On", "Off", "Y",   "N", "Null", "NULL", "TRUE", "FALSE"};
    return std::find(words.begin(), words.end(), s) != words.end() || s == "YES" || s == "NO" ||
           s == "ON" || s == "OFF";
}

bool plain_ok(std::string_view s) {
    if (s.empty() || reserved_word(s)) return false;
    const auto first = static_cast<unsigned char>(s.front());
    // Indicators ('<' and '=' for YAML 1.1's merge and value keys), and anything that may read
    // as a number, a date or a special float.
    if (std::string_view("-?:,[]{}#&*!|>'\"%@`.+<= ").find(static_cast<char>(first)) !=
            std::string_view::npos ||
        std::isdigit(first) != 0) {
        return false;
    }
    if (s.back() == ' ' || s.back() == ':') return false;
    if (s.find(": ") != std::string_view::npos || s.find(" #") != std::string_view::npos) {
        return false;
    }
    return std::none_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7F;
    });
}

void emit(const json::value& v, int indent, std::string& out);

std::string scalar(const json::value& v) {
    switch (v.kind()) {
        case json::kind::null:
            return "null";
        case json::kind::bool_:
            return v.get_bool() ? "true" : "false";
        case json::kind::string:
            return yaml_string(v.get_string());
        case json::kind::double_: {
            // Shortest form that reads back the same, always with a dot so that YAML 1.1
            // readers too see a float ("20.0", "0.5", "1.0e+20").
            auto text = fmt::format("{}", v.get_double());
            if (text.find_first_of(".en") == std::string::npos) {
                text += ".0";
            } else if (const auto e = text.find('e');
                       e != std::string::npos && text.find('.') == std::string::npos) {
                text.insert(e, ".0");
            }
            return text;
        }
        default:
            return json::serialize(v);  // integers
    }
}

bool is_empty_container(const json::value& v) {
    return (v.is_object() && v.get_object().empty()) || (v.is_array() && v.get_array().empty());
}

bool is_block(const json::value& v) {
    return (v.is_object() || v.is_array()) && !is_empty_container(v);
}

std::string inline_form(const json::value& v) {
    if (v.is_object()) return "{}";
    if (v.is_array()) return "[]";
    return scalar(v);
}

// A value after "key:" or "- ": inline for scalars and empty containers, else on the next
// lines (a mapping inside a sequence item starts on the dash's line).
void emit_object(const json::object& o, int indent, std::string& out, bool first_inline) {
    bool first = true;
    for (const auto& [k, v] : o) {
        if (!(first && first_inline)) out.append(static_cast<std::size_t>(indent), ' ');
        first = false;
        out += yaml_string(k);
        out += ':';
        if (is_block(v)) {
            out += '\n';
            emit(v, v.is_array() ? indent : indent + 2, out);
        } else {
            out += ' ' + inline_form(v) + '\n';
        }
    }
}

void emit_array(const json::array& a, int indent, std::string& out) {
    for (const auto& v : a) {
        out.append(static_cast<std::size_t>(indent), ' ');
        if (v.is_object() && !v.get_object().empty()) {
            out += "- ";
            emit_object(v.get_object(), indent + 2, out, true);
        } else if (v.is_array() && !v.get_array().empty()) {
            out += "-\n";
            emit_array(v.get_array(), indent + 2, out);
        } else {
            out += "- " + inline_form(v) + '\n';
        }
    }
}

void emit(const json::value& v, int indent, std::string& out) {
    if (v.is_object()) {
        emit_object(v.get_object(), indent, out, false);
    } else {
        emit_array(v.get_array(), indent, out);
    }
}

}  // namespace

std::string yaml_string(std::string_view s) {
    if (plain_ok(s)) return std::string(s);
    std::string out = "\"";
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                if (u < 0x20 || u == 0x7F) {
                    out += fmt::format("\\x{:02X}", u);
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}

std::string to_yaml(const json::value& v) {
    if (!is_block(v)) return inline_form(v) + '\n';
    std::string out;
    emit(v, 0, out);
    return out;
}

}  // namespace taskpoller::ctl
