#pragma once
// Parsers for API 2.0 responses (docs/protocol.md "Responses", "Completion"). Each takes the raw
// body and returns a value or a response_error; none throws on bad input, none trusts the input's
// size or shape.

#include <boost/system/result.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace taskpoller::qcloud {

struct response_error {
    enum class kind {
        malformed,  ///< not JSON, or not the documented shape: the call's outcome is unknown
        api,        ///< a well-formed answer with a non-zero code the call cannot use
    };
    kind what = kind::malformed;
    int code = 0;           ///< the cloud's code (kind::api); 0 for malformed
    std::string message;    ///< the cloud's message, or what was wrong with the body
    std::string code_desc;  ///< the cloud's codeDesc, if any
};

/// Called by result<T>::value() on an error; throws std::runtime_error.
[[noreturn]] void throw_exception_from_error(const response_error& e,
                                             const boost::source_location& loc);

template <class T>
using response_result = boost::system::result<T, response_error>;

/// The common part of every response. `code` accepts an integer or a numeric string; a
/// non-numeric string code is kept in `code_desc` and `code` becomes 4400 if it names
/// throttling, else code::unrecognised.
struct envelope {
    int code = 0;
    std::string message;
    std::string code_desc;
};

/// Parses only the envelope; succeeds whatever the code is (it is data here).
response_result<envelope> parse_envelope(std::string_view body);

/// Common async API: `{"code":0,"requestId":1234}`; requestId integer or string, returned as a
/// string. A non-zero code is kind::api; a missing or empty requestId is malformed.
response_result<std::string> parse_async(std::string_view body);

/// One resource's outcome in a batch answer.
struct batch_entry {
    enum class status {
        accepted,  ///< code 0 with a requestId: a task
        rejected,  ///< non-zero code: nothing started for this resource
        unknown,   ///< requested but absent from `detail`, or code 0 without a requestId
    };
    std::string resource_id;
    status state = status::unknown;
    int code = 0;
    std::string message;
    std::string request_id;  ///< empty unless accepted
};

struct batch_result {
    int code = 0;  ///< outer code: 0, 5100 or 5400
    std::string message;
    std::string code_desc;
    /// One entry per resource: first the requested ones, in request order, then any extra
    /// resources `detail` named, in its order. Several entries may share one request_id.
    std::vector<batch_entry> entries;
};

/// Batch async API (docs/protocol.md "Responses"). Outer 0/5100/5400 give entries; 5100 without
/// `detail` rejects every requested resource with the outer code and message; any other outer code
/// is kind::api (nothing started). Outer 0 without `detail` is malformed.
response_result<batch_result> parse_batch(std::string_view body,
                                          std::span<const std::string> requested);

enum class task_status { succeeded = 0, failed = 1, running = 2 };

/// Task-result APIs (DescribeLoadBalancersTaskResult & co): `data.status` 0/1/2, integer or
/// numeric string; any other value is malformed; a non-zero code is kind::api.
response_result<task_status> parse_task_result(std::string_view body);

struct instance_state {
    std::string instance_id;  ///< unInstanceId
    int status = 0;           ///< CVM status code (docs/protocol.md "Completion")
};

struct instances_page {
    std::int64_t total_count = 0;
    std::vector<instance_state> instances;
};

/// DescribeInstances: `totalCount` and `instanceSet[].unInstanceId`, `.status`.
response_result<instances_page> parse_describe_instances(std::string_view body);

}  // namespace taskpoller::qcloud
