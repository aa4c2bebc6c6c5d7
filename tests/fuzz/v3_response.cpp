// Fuzz target: the API 3.0 protocol library (lib/qcloud/v3_response.hpp, v3_errors.hpp, tc3.hpp).
// Input: an API 3.0 response body.
// Invariants: nothing throws or crashes; a parsed answer is an error with a bounded non-empty
// Code or a success with a safe RequestId, and its fields hold neither RequestId nor Error; a body
// with a repeated key is refused; readers refuse error answers and respect their bounds; every
// code classifies; the input signed as a payload yields an Authorization that parses back;
// parse_authorization of the input never accepts a bad signature shape.

#include "qcloud/v3_response.hpp"

#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "qcloud/tc3.hpp"
#include "qcloud/v3_errors.hpp"

namespace {

using namespace taskpoller::qcloud;

constexpr std::size_t max_text = 1024;  // v3_response.cpp's bound on messages
constexpr std::size_t max_id = 128;     // on RequestId and Error.Code
constexpr std::size_t max_short = 256;  // on the instance fields compared

bool safe_request_id(std::string_view id) {
    if (id.empty() || id.size() > max_id) return false;
    for (char c : id) {
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '-' || c == '_' || c == '.' || c == ':';
        if (!ok) return false;
    }
    return true;
}

void check_readers(const v3::response& r) {
    auto clb = v3::read_clb_task_status(r);
    auto vpc = v3::read_vpc_task_result(r);
    auto cvm = v3::read_describe_instances(r);
    if (r.error) {
        FUZZ_CHECK(!clb && !vpc && !cvm);
        return;
    }
    if (clb) FUZZ_CHECK(clb->message.size() <= max_text);
    if (vpc) FUZZ_CHECK(vpc->message.size() <= max_text);
    if (clb && vpc) FUZZ_CHECK(false);  // Status cannot be an integer and a string at once
    if (cvm) {
        FUZZ_CHECK(cvm->total_count >= 0);
        for (const auto& i : cvm->instances) {
            FUZZ_CHECK(!i.instance_id.empty() && i.instance_id.size() <= max_short);
            FUZZ_CHECK(i.instance_state.size() <= max_short);
            FUZZ_CHECK(i.latest_operation.size() <= max_short);
            FUZZ_CHECK(i.latest_operation_state.size() <= max_short);
            FUZZ_CHECK(i.latest_operation_request_id.size() <= max_short);
            FUZZ_CHECK(i.latest_operation_error_msg.size() <= max_text);
        }
    }
}

void check_signing(std::string_view input) {
    const credentials creds{"AKIDfuzz", "fuzz-secret"};
    const tc3::request req{"cvm.ap-guangzhou.tencentcloudapi.com:8443", "application/json", input,
                           1700006399};
    const std::string auth = tc3::authorization(creds, req);
    auto p = tc3::parse_authorization(auth);
    FUZZ_CHECK(p.has_value());
    FUZZ_CHECK(p->secret_id == "AKIDfuzz");
    FUZZ_CHECK(p->date == "2023-11-14");
    FUZZ_CHECK(p->service == "cvm");
    FUZZ_CHECK(p->signed_headers == tc3::default_signed_headers);
    const auto key = tc3::derive_key(creds.secret_key_for_signing(), p->date, p->service);
    FUZZ_CHECK(tc3::authorization_with_key("AKIDfuzz", key, req) == auth);

    if (auto q = tc3::parse_authorization(input)) {
        FUZZ_CHECK(q->signature.size() == 64);
        FUZZ_CHECK(!q->secret_id.empty() && q->date.size() == 10 && !q->service.empty());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view body = taskpoller::fuzz::as_text(data, size);
    auto r = v3::parse_response(body);
    if (v3::has_duplicate_key(body)) FUZZ_CHECK(!r);
    if (r) {
        FUZZ_CHECK(!r->fields.contains("RequestId"));
        FUZZ_CHECK(!r->fields.contains("Error"));
        if (r->error) {
            FUZZ_CHECK(!r->error->code.empty() && r->error->code.size() <= max_id);
            FUZZ_CHECK(r->error->message.size() <= max_text);
            FUZZ_CHECK(r->request_id.empty() || safe_request_id(r->request_id));
            FUZZ_CHECK(!v3::to_string(v3::classify(r->error->code)).empty());
        } else {
            FUZZ_CHECK(safe_request_id(r->request_id));
        }
        check_readers(*r);
    } else {
        FUZZ_CHECK(!r.error().message.empty());
    }
    FUZZ_CHECK(!v3::to_string(v3::classify(body)).empty());
    check_signing(body);
    return 0;
}
