#pragma once
// Pure helpers of submission: which resources a call addresses, how an answer's entries map to
// the store's, and the fingerprint that tells a repeated client_token from a reused one.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/types.hpp"
#include "engine/registry.hpp"
#include "qcloud/params.hpp"
#include "qcloud/response.hpp"

namespace taskpoller::engine {

/// The resource ids a call addresses, in order: for a batch action or an instance-state
/// service, the values of `<ids_param>.N` (or the single `<ids_param>`), required; otherwise the
/// values of `loadBalancerId`, `loadBalancerIds.N` or `instanceId` if present (may be empty).
core::result<std::vector<std::string>> resources_of(const registry& reg, std::string_view service,
                                                    const action_profile& action,
                                                    const qcloud::param_list& params);

/// Refuses action parameters named like a protocol common parameter (SecretId, Signature,
/// Nonce, Timestamp, Action, Region, SignatureMethod, Token): the request could never be sent.
/// Fails (kind invalid) naming the first such parameter; succeeds otherwise.
core::result<void> check_param_names(const qcloud::param_list& params);

/// The entries of a call that has no per-resource answer: its resources, or "(call)" if none.
std::vector<std::string> call_resources(const std::vector<std::string>& resources);

/// A store entry from a parsed batch entry.
core::entry entry_of(const qcloud::batch_entry& e);

/// A stable digest of what was asked: same service, action, region and parameters give the same
/// string.
std::string fingerprint(std::string_view service, std::string_view action, std::string_view region,
                        const qcloud::param_list& params);

}  // namespace taskpoller::engine
