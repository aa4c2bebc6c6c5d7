#include "ledger/pg_conninfo.hpp"

#include <libpq-fe.h>

#include <fstream>
#include <sstream>

namespace taskpoller::ledger {

namespace {

// PQconninfoParse's options, freed however the caller returns.
struct parsed_options {
    explicit parsed_options(const std::string& text) {
        char* err = nullptr;
        options = PQconninfoParse(text.c_str(), &err);
        // The message may quote part of the string (a password): it is dropped.
        if (err != nullptr) PQfreemem(err);
    }
    ~parsed_options() {
        if (options != nullptr) PQconninfoFree(options);
    }
    parsed_options(const parsed_options&) = delete;
    parsed_options& operator=(const parsed_options&) = delete;
    PQconninfoOption* options = nullptr;
};

// A value quoted the way libpq's keyword=value syntax reads it back.
std::string quoted(std::string_view v) {
    bool plain = !v.empty() && v.find_first_of(" \t\n\r\f\v'\\") == std::string_view::npos;
    if (plain) return std::string(v);
    std::string out = "'";
    for (char c : v) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    out += '\'';
    return out;
}

std::string trim(std::string s) {
    const char* ws = " \t\r\n\f\v";
    auto b = s.find_first_not_of(ws);
    if (b == std::string::npos) return {};
    auto e = s.find_last_not_of(ws);
    return s.substr(b, e - b + 1);
}

}  // namespace

core::result<std::string> read_conninfo_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return core::error{"conninfo_file " + path + ": cannot be read"};
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return core::error{"conninfo_file " + path + ": cannot be read"};
    std::string info = trim(text.str());
    if (info.empty()) return core::error{"conninfo_file " + path + ": empty"};
    parsed_options parsed(info);
    if (parsed.options == nullptr) {
        return core::error{"conninfo_file " + path +
                           ": not a valid libpq connection string (keyword=value pairs or a "
                           "postgresql:// URI)"};
    }
    return core::ok(std::move(info));
}

std::string redact_conninfo(std::string_view conninfo) {
    parsed_options parsed{std::string(conninfo)};
    if (parsed.options == nullptr) return "(invalid connection string)";
    std::string out;
    for (auto* o = parsed.options; o->keyword != nullptr; ++o) {
        if (o->val == nullptr) continue;
        if (!out.empty()) out += ' ';
        out += o->keyword;
        out += '=';
        // dispchar "*": libpq's mark for a value to hide (password fields).
        bool secret = o->dispchar != nullptr && o->dispchar[0] == '*';
        out += secret ? std::string("********") : quoted(o->val);
    }
    return out;
}

}  // namespace taskpoller::ledger
