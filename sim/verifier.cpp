#include "sim/verifier.hpp"

#include <charconv>

#include "qcloud/signer.hpp"

namespace taskpoller::sim {

std::optional<std::int64_t> parse_decimal(std::string_view s) noexcept {
    if (s.empty() || s.size() > 18) return std::nullopt;
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
    return v;
}

bool replay_window::remember(std::string_view secret_id, std::int64_t timestamp,
                             std::string_view nonce, std::int64_t now_s) {
    expire(now_s);
    std::string key;
    key.reserve(secret_id.size() + 42);
    key.append(secret_id).append(1, '\0').append(std::to_string(timestamp)).append(1, '\0');
    key.append(nonce);
    if (!seen_.insert(key).second) return false;
    // A timestamp older than now - window is refused anyway, so the triple can go then.
    expiry_.emplace(timestamp + window_ + 1, std::move(key));
    return true;
}

void replay_window::expire(std::int64_t now_s) {
    while (!expiry_.empty() && expiry_.top().first < now_s) {
        seen_.erase(expiry_.top().second);
        expiry_.pop();
    }
}

void replay_window::clear() {
    seen_.clear();
    expiry_ = {};
}

verifier::verifier(const config& cfg)
    : replay_check_(cfg.replay_check),
      window_s_(cfg.timestamp_window.count()),
      replay_(cfg.timestamp_window.count()) {
    for (const auto& a : cfg.accounts) keys_[a.secret_id] = a.secret_key;
}

std::optional<api_error> verifier::verify(std::string_view method, std::string_view host,
                                          const qcloud::param_list& params, std::int64_t now_s) {
    for (auto name : required_common_params) {
        const auto* v = qcloud::find_param(params, name);
        if (!v || v->empty())
            return api_error{4000, "missing common parameter " + std::string(name)};
    }
    auto timestamp = parse_decimal(*qcloud::find_param(params, "Timestamp"));
    if (!timestamp) return api_error{4000, "Timestamp must be unix seconds"};
    // SDKs send nonces of up to 20 digits (beyond int64): check the form, compare as text.
    const auto& nonce = *qcloud::find_param(params, "Nonce");
    bool digits = nonce.size() <= 20 && nonce.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || nonce.find_first_not_of('0') == std::string::npos)
        return api_error{4000, "Nonce must be a positive integer"};

    const auto& secret_id = *qcloud::find_param(params, "SecretId");
    auto key = keys_.find(secret_id);
    if (key == keys_.end()) return api_error{4104, "SecretId not found"};
    if (auto e = check_signature(method, host, params, key->second)) return e;

    if (!replay_check_) return std::nullopt;
    auto skew = *timestamp - now_s;
    if (skew > window_s_ || skew < -window_s_)
        return api_error{4500, "Timestamp is outside the allowed window of " +
                                   std::to_string(window_s_) + " seconds"};
    if (!replay_.remember(secret_id, *timestamp, nonce, now_s))
        return api_error{4500, "Nonce was already used with this Timestamp (replay)"};
    return std::nullopt;
}

std::optional<api_error> verifier::check_signature(std::string_view method, std::string_view host,
                                                   const qcloud::param_list& params,
                                                   const std::string& secret_key) const {
    auto m = qcloud::signature_method_from_param(qcloud::find_param(params, "SignatureMethod"));
    auto to_sign = qcloud::canonical_string(method, host, qcloud::api_path, params);
    auto expected = qcloud::compute_signature(secret_key, m, to_sign);
    if (!qcloud::constant_time_equal(expected, *qcloud::find_param(params, "Signature")))
        return api_error{4100, "signature verification failed"};
    return std::nullopt;
}

}  // namespace taskpoller::sim
