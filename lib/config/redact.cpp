#include "config/redact.hpp"

#include <algorithm>
#include <string_view>

namespace taskpoller::config::detail {
namespace {

// Keys of the credentials section whose values are not secret.
bool is_public_key(std::string_view key) {
    return key == "secret_id_file" || key == "secret_key_file" || key == "signature_method";
}
bool is_known_key(std::string_view key) {
    return is_public_key(key) || key == "secret_id" || key == "secret_key";
}

// Every scalar under `node`; in mappings, known key names and public values are skipped.
void collect(const YAML::Node& node, std::vector<secret_string>& out) {
    if (node.IsScalar()) {
        out.emplace_back(node.Scalar());
    } else if (node.IsSequence()) {
        for (const auto& item : node) collect(item, out);
    } else if (node.IsMap()) {
        for (const auto& pair : node) {
            const YAML::Node k = pair.first;
            const YAML::Node v = pair.second;
            const bool scalar_key = k.IsScalar();
            if (!scalar_key || !is_known_key(k.Scalar())) collect(k, out);
            if (!scalar_key || !is_public_key(k.Scalar())) collect(v, out);
        }
    }
}

}  // namespace

std::vector<secret_string> sensitive_values(const YAML::Node& doc, const credentials_config& c) {
    std::vector<secret_string> out;
    if (doc.IsMap()) {
        for (const auto& pair : doc) {
            const YAML::Node k = pair.first;
            if (k.IsScalar() && k.Scalar() == "credentials") collect(pair.second, out);
        }
    }
    out.push_back(c.secret_id);
    out.push_back(c.secret_key);
    if (!c.token.empty()) out.push_back(c.token);
    return out;
}

void redact(std::vector<diagnostic>& diagnostics, const std::vector<secret_string>& values) {
    for (auto& d : diagnostics) {
        for (const auto& v : values) {
            v.redact_in(d.message);
            v.redact_in(d.path);
        }
    }
}

}  // namespace taskpoller::config::detail
