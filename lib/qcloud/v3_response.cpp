#include "qcloud/v3_response.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <memory>
#include <set>

namespace taskpoller::qcloud::v3 {
namespace json = boost::json;

namespace {

// Cloud text is logged and stored; a hostile or broken server must not make us keep megabytes.
constexpr std::size_t max_text = 1024;  // messages, for people: truncated
constexpr std::size_t max_id = 128;     // RequestId, Error.Code: refused if longer
constexpr std::size_t max_short = 256;  // instance fields we compare: refused if longer
constexpr unsigned max_depth = 64;

core::error invalid(std::string message) {
    return core::error{std::move(message)};
}

// A basic_parser handler that only tracks object keys; it stops at the first repeated key.
// Every answer is checked, so the usual case costs no allocation per key: the keys of the open
// objects live in one vector (short keys inline in their strings) and an object's keys are
// compared one by one; an object with many keys switches to a set, so a hostile answer with a
// million keys costs O(n log n), not O(n^2).
struct duplicate_finder {
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);
    static constexpr std::size_t linear_keys = 16;  // past this, an object's keys go in a set
    using ec_t = json::error_code;
    using sv = json::string_view;

    // One frame per open object or array (arrays have no keys, but must be matched on close).
    struct frame {
        std::size_t first = 0;  // its keys are keys[first..]
        std::unique_ptr<std::set<std::string, std::less<>>> many{};
    };
    std::vector<frame> open;
    std::vector<std::string> keys;
    std::string key;
    bool found = false;

    duplicate_finder() {
        open.reserve(8);
        keys.reserve(16);
    }
    bool on_document_begin(ec_t&) { return true; }
    bool on_document_end(ec_t&) { return true; }
    bool on_object_begin(ec_t&) {
        open.push_back({keys.size()});
        return true;
    }
    bool on_object_end(std::size_t, ec_t&) {
        keys.resize(open.back().first);
        open.pop_back();
        return true;
    }
    bool on_array_begin(ec_t& ec) { return on_object_begin(ec); }
    bool on_array_end(std::size_t n, ec_t& ec) { return on_object_end(n, ec); }
    bool on_key_part(sv s, std::size_t, ec_t&) {
        key.append(s.data(), s.size());
        return true;
    }
    bool on_key(sv s, std::size_t, ec_t&) {
        key.append(s.data(), s.size());
        frame& f = open.back();
        bool fresh = true;
        if (f.many) {
            fresh = f.many->insert(key).second;
        } else if (std::find(keys.begin() + static_cast<std::ptrdiff_t>(f.first), keys.end(),
                             key) != keys.end()) {
            fresh = false;
        } else if (keys.size() - f.first < linear_keys) {
            keys.push_back(key);
        } else {
            f.many = std::make_unique<std::set<std::string, std::less<>>>(
                std::make_move_iterator(keys.begin() + static_cast<std::ptrdiff_t>(f.first)),
                std::make_move_iterator(keys.end()));
            keys.resize(f.first);
            fresh = f.many->insert(key).second;
        }
        key.clear();
        found = !fresh;
        return fresh;
    }
    bool on_string_part(sv, std::size_t, ec_t&) { return true; }
    bool on_string(sv, std::size_t, ec_t&) { return true; }
    bool on_number_part(sv, ec_t&) { return true; }
    bool on_int64(std::int64_t, sv, ec_t&) { return true; }
    bool on_uint64(std::uint64_t, sv, ec_t&) { return true; }
    bool on_double(double, sv, ec_t&) { return true; }
    bool on_bool(bool, ec_t&) { return true; }
    bool on_null(ec_t&) { return true; }
    bool on_comment_part(sv, ec_t&) { return true; }
    bool on_comment(sv, ec_t&) { return true; }
};

json::parse_options options() {
    json::parse_options o;
    o.max_depth = max_depth;
    return o;
}

// `s` cut to at most `n` bytes, not inside a UTF-8 sequence.
std::string capped(std::string_view s, std::size_t n) {
    if (s.size() <= n) return std::string(s);
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;
    return std::string(s.substr(0, n));
}

// A message for people: a string, or absent/null (empty); anything else is shown as its JSON.
std::string text_of(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return {};
    if (v->is_string()) return capped(v->get_string(), max_text);
    return capped(json::serialize(*v), max_text);
}

bool valid_request_id(std::string_view id) {
    if (id.empty() || id.size() > max_id) return false;
    for (char c : id) {
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '-' || c == '_' || c == '.' || c == ':';
        if (!ok) return false;
    }
    return true;
}

core::error refused(const response& r) {
    return invalid(fmt::format("the API answered with error {}", r.error->code));
}

// An optional string field: absent or null is empty; another type, or one over `limit` bytes,
// is an error naming `what`.
core::result<std::string> optional_string(const json::object& o, std::string_view key,
                                          std::string_view what) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return core::ok(std::string());
    if (!v->is_string()) return invalid(fmt::format("{}.{} is not a string", what, key));
    if (v->get_string().size() > max_short)
        return invalid(fmt::format("{}.{} is too long", what, key));
    return core::ok(std::string(v->get_string()));
}

core::result<std::string> required_string(const json::object& o, std::string_view key,
                                          std::string_view what) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_string())
        return invalid(fmt::format("{}.{} is missing or not a string", what, key));
    return optional_string(o, key, what);
}

}  // namespace

bool has_duplicate_key(std::string_view json_text) {
    json::basic_parser<duplicate_finder> p(options());
    json::error_code ec;
    p.write_some(false, json_text.data(), json_text.size(), ec);
    return p.handler().found;
}

core::result<response> parse_response(std::string_view body) {
    if (body.size() > max_body_size)
        return invalid(fmt::format("response body is larger than {} bytes", max_body_size));
    json::error_code ec;
    json::value root = json::parse(body, ec, {}, options());
    if (ec) return invalid(fmt::format("response is not valid JSON: {}", ec.message()));
    if (has_duplicate_key(body)) return invalid("response repeats a key in one object");
    json::object* top = root.if_object();
    json::value* resp_value = top != nullptr ? top->if_contains("Response") : nullptr;
    if (resp_value == nullptr || !resp_value->is_object())
        return invalid("response has no \"Response\" object");
    json::object& resp = resp_value->get_object();

    response out;
    if (const json::value* id = resp.if_contains("RequestId");
        id != nullptr && id->is_string() && valid_request_id(id->get_string())) {
        out.request_id = std::string(id->get_string());
    }
    if (const json::value* e = resp.if_contains("Error"); e != nullptr && !e->is_null()) {
        const json::object* eo = e->if_object();
        const json::value* code = eo != nullptr ? eo->if_contains("Code") : nullptr;
        if (code == nullptr || !code->is_string())
            return invalid("response Error has no string \"Code\"");
        std::string_view c = code->get_string();
        if (c.empty() || c.size() > max_id)
            return invalid("response Error.Code is empty or too long");
        out.error = api_error{std::string(c), text_of(*eo, "Message")};
    } else if (out.request_id.empty()) {
        return invalid("response has no usable \"RequestId\"");
    }
    resp.erase("RequestId");
    resp.erase("Error");
    out.fields = std::move(resp);
    return out;
}

core::result<task_result> read_clb_task_status(const response& r) {
    if (r.error) return refused(r);
    const json::value* s = r.fields.if_contains("Status");
    if (s == nullptr || !s->is_int64())
        return invalid("DescribeTaskStatus: Status is missing or not an integer");
    task_result out;
    switch (s->get_int64()) {
        case 0:
            out.status = task_status::succeeded;
            break;
        case 1:
            out.status = task_status::failed;
            break;
        case 2:
            out.status = task_status::running;
            break;
        default:
            return invalid(fmt::format("DescribeTaskStatus: unknown Status {}", s->get_int64()));
    }
    out.message = text_of(r.fields, "Message");
    return out;
}

core::result<task_result> read_vpc_task_result(const response& r) {
    if (r.error) return refused(r);
    const json::value* s = r.fields.if_contains("Status");
    if (s == nullptr || !s->is_string())
        return invalid("DescribeVpcTaskResult: Status is missing or not a string");
    std::string_view v = s->get_string();
    task_result out;
    if (v == "SUCCESS") {
        out.status = task_status::succeeded;
    } else if (v == "FAILED") {
        out.status = task_status::failed;
    } else if (v == "RUNNING") {
        out.status = task_status::running;
    } else {
        return invalid(
            fmt::format("DescribeVpcTaskResult: unknown Status \"{}\"", capped(v, max_short)));
    }
    out.message = text_of(r.fields, "Output");
    return out;
}

core::result<instances_page> read_describe_instances(const response& r) {
    if (r.error) return refused(r);
    const json::value* total = r.fields.if_contains("TotalCount");
    if (total == nullptr || !total->is_int64() || total->get_int64() < 0)
        return invalid("DescribeInstances: TotalCount is missing or not a non-negative integer");
    const json::value* set = r.fields.if_contains("InstanceSet");
    if (set == nullptr || !set->is_array())
        return invalid("DescribeInstances: InstanceSet is missing or not an array");
    instances_page out;
    out.total_count = total->get_int64();
    out.instances.reserve(set->get_array().size());
    for (const json::value& v : set->get_array()) {
        const json::object* o = v.if_object();
        if (o == nullptr) return invalid("DescribeInstances: an InstanceSet item is not an object");
        constexpr std::string_view what = "DescribeInstances: InstanceSet[]";
        instance i;
        auto id = required_string(*o, "InstanceId", what);
        if (!id) return id.error();
        if (id->empty()) return invalid("DescribeInstances: an InstanceId is empty");
        i.instance_id = std::move(*id);
        auto state = required_string(*o, "InstanceState", what);
        if (!state) return state.error();
        i.instance_state = std::move(*state);
        auto op = optional_string(*o, "LatestOperation", what);
        if (!op) return op.error();
        i.latest_operation = std::move(*op);
        auto op_state = optional_string(*o, "LatestOperationState", what);
        if (!op_state) return op_state.error();
        i.latest_operation_state = std::move(*op_state);
        auto op_id = optional_string(*o, "LatestOperationRequestId", what);
        if (!op_id) return op_id.error();
        i.latest_operation_request_id = std::move(*op_id);
        const json::value* msg = o->if_contains("LatestOperationErrorMsg");
        if (msg != nullptr && !msg->is_null() && !msg->is_string())
            return invalid("DescribeInstances: LatestOperationErrorMsg is not a string");
        i.latest_operation_error_msg = text_of(*o, "LatestOperationErrorMsg");
        out.instances.push_back(std::move(i));
    }
    return out;
}

core::result<disks_page> read_describe_disks(const response& r) {
    if (r.error) return refused(r);
    const json::value* total = r.fields.if_contains("TotalCount");
    if (total == nullptr || !total->is_int64() || total->get_int64() < 0)
        return invalid("DescribeDisks: TotalCount is missing or not a non-negative integer");
    const json::value* set = r.fields.if_contains("DiskSet");
    if (set == nullptr || !set->is_array())
        return invalid("DescribeDisks: DiskSet is missing or not an array");
    disks_page out;
    out.total_count = total->get_int64();
    out.disks.reserve(set->get_array().size());
    for (const json::value& v : set->get_array()) {
        const json::object* o = v.if_object();
        if (o == nullptr) return invalid("DescribeDisks: a DiskSet item is not an object");
        constexpr std::string_view what = "DescribeDisks: DiskSet[]";
        disk d;
        auto id = required_string(*o, "DiskId", what);
        if (!id) return id.error();
        if (id->empty()) return invalid("DescribeDisks: a DiskId is empty");
        d.disk_id = std::move(*id);
        auto state = required_string(*o, "DiskState", what);
        if (!state) return state.error();
        d.disk_state = std::move(*state);
        auto instance = optional_string(*o, "InstanceId", what);
        if (!instance) return instance.error();
        d.instance_id = std::move(*instance);
        out.disks.push_back(std::move(d));
    }
    return out;
}

}  // namespace taskpoller::qcloud::v3
