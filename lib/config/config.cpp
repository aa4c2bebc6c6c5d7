#include "config/config.hpp"

#include "config/loader.hpp"

namespace taskpoller::config {

std::string_view to_string(signature_method v) noexcept {
    return v == signature_method::hmac_sha1 ? "HmacSHA1" : "HmacSHA256";
}

std::string_view to_string(credential_source v) noexcept {
    switch (v) {
        case credential_source::config_file:
            return "config_file";
        case credential_source::credentials_directory:
            return "credentials_directory";
        case credential_source::environment:
            return "environment";
        case credential_source::none:
            break;
    }
    return "none";
}

std::string_view to_string(url_scheme v) noexcept {
    return v == url_scheme::http ? "http" : "https";
}
std::string_view to_string(protocol_kind v) noexcept {
    return v == protocol_kind::v3 ? "v3" : "v2";
}
std::string_view to_string(endpoint_kind v) noexcept {
    switch (v) {
        case endpoint_kind::regional:
            return "regional";
        case endpoint_kind::intl:
            return "intl";
        case endpoint_kind::nearest:
            break;
    }
    return "nearest";
}
std::string_view to_string(http_method v) noexcept {
    return v == http_method::get ? "GET" : "POST";
}

std::string_view to_string(resolver_kind v) noexcept {
    return v == resolver_kind::instance_state ? "instance_state" : "task_result";
}

std::string_view to_string(jitter_kind v) noexcept {
    return v == jitter_kind::none ? "none" : "full";
}

std::string_view to_string(durability_kind v) noexcept {
    return v == durability_kind::relaxed ? "relaxed" : "strict";
}

std::string_view to_string(store_backend v) noexcept {
    return v == store_backend::postgres ? "postgres" : "journal";
}

std::string_view to_string(log_level v) noexcept {
    switch (v) {
        case log_level::trace:
            return "trace";
        case log_level::debug:
            return "debug";
        case log_level::warn:
            return "warn";
        case log_level::error:
            return "error";
        case log_level::info:
            break;
    }
    return "info";
}

std::string_view to_string(log_format v) noexcept {
    return v == log_format::json ? "json" : "text";
}

std::map<std::string, builtin_service, std::less<>> default_builtin_services() {
    return {
        {"cvm",
         {resolver_kind::instance_state,
          // API 2.0 and API 3.0 (cloud.protocol picks which cvm is meant)
          {"StartInstances", "StopInstances", "RestartInstances", "ResetInstancePassword",
           "ResetInstances", "RebootInstances", "ResetInstancesPassword", "TerminateInstances"},
          {},
          "DescribeInstances"}},
        {"lb",
         {resolver_kind::task_result,
          {},
          "DescribeLoadBalancersTaskResult",
          "DescribeLoadBalancersTaskResult"}},
        {"bmlb",
         {resolver_kind::task_result,
          {},
          "DescribeBmLoadBalancersTaskResult",
          "DescribeBmLoadBalancersTaskResult"}},
        {"bmeip", {resolver_kind::task_result, {}, "EipBmQueryTask", "EipBmQueryTask"}},
        // API 3.0
        {"clb", {resolver_kind::task_result, {}, "DescribeTaskStatus", "DescribeTaskStatus"}},
        {"vpc", {resolver_kind::task_result, {}, "DescribeVpcTaskResult", "DescribeVpcTaskResult"}},
        {"cbs",
         {resolver_kind::instance_state, {"AttachDisks", "DetachDisks"}, {}, "DescribeDisks"}},
    };
}

}  // namespace taskpoller::config
