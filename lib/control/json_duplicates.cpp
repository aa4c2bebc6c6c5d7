#include "control/json_duplicates.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <set>
#include <vector>

namespace taskpoller::control {
namespace {

namespace json = boost::json;
using ec_t = json::error_code;
using sv = json::string_view;

// A basic_parser handler that only tracks object keys; it stops the parse at the first
// duplicate (returning false), leaving its path in `found`.
struct duplicate_finder {
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);

    struct frame {
        bool object = false;
        std::string path;
        std::set<std::string, std::less<>> keys;
        std::string key;        ///< the key whose value comes next (objects)
        std::size_t index = 0;  ///< the element that comes next (arrays)
    };
    std::vector<frame> stack;
    std::string key_part;
    std::optional<std::string> found;

    // The path of the value about to be parsed.
    std::string here() const {
        if (stack.empty()) return {};
        const frame& f = stack.back();
        if (!f.object) return f.path + "[" + std::to_string(f.index) + "]";
        return f.path.empty() ? f.key : f.path + "." + f.key;
    }
    bool value_done() {
        if (!stack.empty() && !stack.back().object) ++stack.back().index;
        return true;
    }
    bool open(bool object) {
        stack.push_back(frame{object, here(), {}, {}, 0});
        return true;
    }
    bool close() {
        stack.pop_back();
        return value_done();
    }

    bool on_document_begin(ec_t&) { return true; }
    bool on_document_end(ec_t&) { return true; }
    bool on_object_begin(ec_t&) { return open(true); }
    bool on_object_end(std::size_t, ec_t&) { return close(); }
    bool on_array_begin(ec_t&) { return open(false); }
    bool on_array_end(std::size_t, ec_t&) { return close(); }
    bool on_key_part(sv s, std::size_t, ec_t&) {
        key_part.append(s.data(), s.size());
        return true;
    }
    bool on_key(sv s, std::size_t, ec_t&) {
        key_part.append(s.data(), s.size());
        frame& f = stack.back();
        f.key = std::move(key_part);
        key_part.clear();
        if (f.keys.insert(f.key).second) return true;
        found = here();
        return false;
    }
    bool on_string_part(sv, std::size_t, ec_t&) { return true; }
    bool on_string(sv, std::size_t, ec_t&) { return value_done(); }
    bool on_number_part(sv, ec_t&) { return true; }
    bool on_int64(std::int64_t, sv, ec_t&) { return value_done(); }
    bool on_uint64(std::uint64_t, sv, ec_t&) { return value_done(); }
    bool on_double(double, sv, ec_t&) { return value_done(); }
    bool on_bool(bool, ec_t&) { return value_done(); }
    bool on_null(ec_t&) { return value_done(); }
    bool on_comment_part(sv, ec_t&) { return true; }
    bool on_comment(sv, ec_t&) { return true; }
};

}  // namespace

std::optional<std::string> first_duplicate_key(std::string_view json_text) {
    json::parse_options opts;
    opts.max_depth = 64;
    json::basic_parser<duplicate_finder> p(opts);
    ec_t ec;
    p.write_some(false, json_text.data(), json_text.size(), ec);
    return p.handler().found;
}

}  // namespace taskpoller::control
