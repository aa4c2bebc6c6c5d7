#include "engine/submission_rules.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include "qcloud/request.hpp"

namespace taskpoller::engine {
namespace {

// Values of `name` (exactly) or `name.0`, `name.1`, ... in their order in `params`.
std::vector<std::string> values_of(const qcloud::param_list& params, std::string_view name) {
    std::vector<std::string> out;
    for (const auto& p : params) {
        std::string_view n = p.name;
        if (n == name) {
            out.push_back(p.value);
        } else if (n.size() > name.size() + 1 && n.substr(0, name.size()) == name &&
                   n[name.size()] == '.' &&
                   n.find_first_not_of("0123456789", name.size() + 1) == std::string_view::npos) {
            out.push_back(p.value);
        }
    }
    return out;
}

}  // namespace

core::result<std::vector<std::string>> resources_of(const registry& reg, std::string_view service,
                                                    const action_profile& action,
                                                    const qcloud::param_list& params) {
    const service_profile* svc = reg.find_service(service);
    bool needs_ids = action.response == response_kind::batch ||
                     (svc != nullptr && svc->resolver == resolver_kind::instance_state);
    if (needs_ids) {
        std::string ids_param = action.cvm ? action.cvm->ids_param : "instanceIds";
        auto ids = values_of(params, ids_param);
        if (ids.empty()) {
            return core::error{
                fmt::format("{} needs the instances it acts on: params.{} (an array "
                            "of instance ids)",
                            action.name, ids_param)};
        }
        return ids;
    }
    for (std::string_view name : {"loadBalancerId", "loadBalancerIds", "instanceId"}) {
        auto ids = values_of(params, name);
        if (!ids.empty()) return ids;
    }
    return std::vector<std::string>{};
}

core::result<void> check_param_names(const qcloud::param_list& params) {
    for (const auto& p : params) {
        if (qcloud::is_common_name(p.name))
            return core::error{fmt::format(
                "params.{} is an API 2.0 common parameter, which taskpollerd sets itself; "
                "remove it (use \"region\" to choose the region)",
                p.name)};
    }
    return {};
}

std::vector<std::string> call_resources(const std::vector<std::string>& resources) {
    if (resources.empty()) return {"(call)"};
    return resources;
}

core::entry entry_of(const qcloud::batch_entry& e) {
    core::entry out;
    out.resource_id = e.resource_id;
    out.code = e.code;
    out.message = e.message;
    switch (e.state) {
        case qcloud::batch_entry::status::accepted:
            out.outcome = core::entry_outcome::accepted;
            out.request_id = e.request_id;
            break;
        case qcloud::batch_entry::status::rejected:
            out.outcome = core::entry_outcome::rejected;
            break;
        case qcloud::batch_entry::status::unknown:
            out.outcome = core::entry_outcome::unknown;
            break;
    }
    return out;
}

std::string fingerprint(std::string_view service, std::string_view action, std::string_view region,
                        const qcloud::param_list& params) {
    // Length-prefixed fields, so no choice of values can make two different requests collide.
    std::string canon;
    auto add = [&](std::string_view s) { canon += fmt::format("{}:{};", s.size(), s); };
    add(service);
    add(action);
    add(region);
    for (const auto& p : params) {
        add(p.name);
        add(p.value);
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(canon.data(), canon.size(), md, &len, EVP_sha256(), nullptr);
    std::string hex;
    for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
    return hex;
}

}  // namespace taskpoller::engine
