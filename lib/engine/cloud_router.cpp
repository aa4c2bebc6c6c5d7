#include "engine/cloud_router.hpp"

namespace taskpoller::engine {

cloud_router::cloud_router(http::client& http, const registry& reg, qcloud::credentials creds,
                           api_settings settings, core::logger log)
    : api_(http, reg, std::move(creds), settings, std::move(log)), v2_(api_, reg), v3_(api_, reg) {}

void cloud_router::reconfigure(qcloud::credentials creds, const api_settings& settings) {
    api_.set_credentials(std::move(creds));
    api_.set_settings(settings);
    v3_.reconfigure(qcloud::credentials({}, {}), settings);  // forgets keys derived from the old
}

}  // namespace taskpoller::engine
