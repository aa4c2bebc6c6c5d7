#include "sim/reply.hpp"

namespace taskpoller::sim {

const char* code_desc(int code) noexcept {
    switch (code) {
        case 0:
            return "Success";
        case 4000:
            return "InvalidParameter";
        case 4100:
            return "AuthFailure.SignatureFailure";
        case 4104:
            return "AuthFailure.SecretIdNotFound";
        case 4400:
            return "InvalidRequest.LimitExceeded";
        case 4500:
            return "InvalidRequest.ReplayAttack";
        case 4600:
            return "UnsupportedProtocol";
        case 5000:
            return "ResourceNotFound";
        case 5100:
            return "OperationFailed";
        case 5400:
            return "PartialSuccess";
        case 6000:
            return "InternalError";
        case 6100:
            return "UnsupportedOperation";
        case 6200:
            return "ServiceUnavailable";
        default:
            return "UnknownError";
    }
}

boost::json::object envelope(int code, std::string message) {
    boost::json::object o;
    o["code"] = code;
    o["message"] = std::move(message);
    o["codeDesc"] = code_desc(code);
    return o;
}

}  // namespace taskpoller::sim
