#pragma once
// API 3.0 responses (docs/protocol.md "API 3.0: responses"): `{"Response": {..., "RequestId":
// "..."}}` or `{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`. Pure parsers: none
// throws on bad input, none trusts the input's size or shape. Nothing of API 2.0 here.

#include <boost/json/object.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace taskpoller::qcloud::v3 {

struct api_error {
    std::string code;     ///< "UnsupportedOperation.InstanceStateStopped"
    std::string message;  ///< for people only: never branched on
};

/// A parsed answer. `error` set: the API refused the call (`request_id` may still be set).
/// Otherwise `fields` is the Response object without RequestId.
struct response {
    std::string request_id;
    std::optional<api_error> error;
    boost::json::object fields;
};

/// The largest body parse_response accepts (10 MiB, the size limit of a TC3 request).
inline constexpr std::size_t max_body_size = std::size_t{10} << 20;

/// Whether some object in `json_text` repeats a key, at any depth. False for text that is not
/// JSON (its parse reports that). boost::json::parse keeps the last of duplicate keys silently;
/// parse_response refuses such bodies (and a server may use this on request bodies).
bool has_duplicate_key(std::string_view json_text);

/// Parses any 3.0 answer. Errors (core::error, kind invalid): not JSON, no `Response` object, an
/// `Error` without a string `Code`, a success without a non-empty string `RequestId`. Duplicate
/// keys are not tolerated (the answer is not trusted). Bodies over 10 MiB are refused.
core::result<response> parse_response(std::string_view body);

/// CLB DescribeTaskStatus: `Status` 0 succeeded, 1 failed, 2 running; `Message` optional/null.
enum class task_status { succeeded, failed, running };
struct task_result {
    task_status status = task_status::running;
    std::string message;
};
core::result<task_result> read_clb_task_status(const response& r);

/// VPC DescribeVpcTaskResult: `Status` "SUCCESS" / "RUNNING" / "FAILED"; `Output` optional.
core::result<task_result> read_vpc_task_result(const response& r);

/// One instance of CVM DescribeInstances (`InstanceSet[]`). Every LatestOperation* may be null.
struct instance {
    std::string instance_id;
    std::string instance_state;  ///< "RUNNING", "STOPPED", ...
    std::string latest_operation;
    std::string latest_operation_state;  ///< "SUCCESS" / "OPERATING" / "FAILED" / empty
    std::string latest_operation_request_id;
    std::string latest_operation_error_msg;
};
struct instances_page {
    std::int64_t total_count = 0;
    std::vector<instance> instances;
};
core::result<instances_page> read_describe_instances(const response& r);

/// One disk of CBS DescribeDisks (`DiskSet[]`).
struct disk {
    std::string disk_id;
    std::string disk_state;   ///< "UNATTACHED", "ATTACHING", "ATTACHED", "DETACHING", ...
    std::string instance_id;  ///< empty when not attached (or null)
};
struct disks_page {
    std::int64_t total_count = 0;
    std::vector<disk> disks;
};
/// CBS DescribeDisks: `TotalCount`, `DiskSet[]` with `DiskId`, `DiskState`, `InstanceId`
/// (optional/null). A missing DiskSet is an error, an empty one is not.
core::result<disks_page> read_describe_disks(const response& r);

}  // namespace taskpoller::qcloud::v3
