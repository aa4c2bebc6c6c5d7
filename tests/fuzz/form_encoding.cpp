// Fuzz target: percent-encoding and form (query-string) encoding, both the cloud side
// (lib/qcloud/encoding.hpp: request bodies, and the simulator's request parsing, which uses the
// same form_decode) and the control API's query decoding (lib/control/query.hpp).
// Invariants: decode(encode(x)) == x for any bytes; encoding emits only unreserved characters
// and upper-case %XX; the two decoders agree (the control one additionally refuses %00); a
// successfully decoded form re-encodes to something that decodes to the same list.

#include <string>
#include <string_view>

#include "control/query.hpp"
#include "fuzz_check.hpp"
#include "qcloud/encoding.hpp"

namespace {

namespace qc = taskpoller::qcloud;
namespace ctl = taskpoller::control;

bool is_upper_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

bool is_unreserved(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

void check_encoded_alphabet(std::string_view e) {
    for (std::size_t i = 0; i < e.size(); ++i) {
        if (e[i] == '%') {
            FUZZ_CHECK(i + 2 < e.size());
            FUZZ_CHECK(is_upper_hex(e[i + 1]) && is_upper_hex(e[i + 2]));
            i += 2;
        } else {
            FUZZ_CHECK(is_unreserved(e[i]));
        }
    }
}

void check_percent_round_trip(std::string_view raw) {
    const std::string e = qc::percent_encode(raw);
    check_encoded_alphabet(e);
    for (bool plus : {true, false}) {
        auto d = qc::percent_decode(e, plus);
        FUZZ_CHECK(d && *d == raw);
    }
}

bool has_nul(std::string_view s) {
    return s.find('\0') != std::string_view::npos;
}

// The cloud decoder and the control decoder must agree, except that the control API refuses
// %00 (a raw NUL byte passes through both: the HTTP parser refuses it before the router).
void check_decoders_agree(std::string_view in) {
    for (bool plus : {true, false}) {
        auto q = qc::percent_decode(in, plus);
        auto c = ctl::percent_decode(in, plus);
        if (!q) {
            FUZZ_CHECK(!c && c.error().status == 400);
            continue;
        }
        check_percent_round_trip(*q);
        if (c) {
            FUZZ_CHECK(*c == *q);
        } else {
            FUZZ_CHECK(c.error().status == 400 && has_nul(*q));
        }
    }
}

// Builds a parameter list out of arbitrary bytes: name, value, name, ... separated by 0x01, so
// names and values may hold NUL, '&', '=', '%', '+' and non-UTF-8 bytes alike.
qc::param_list params_of(std::string_view in) {
    qc::param_list out;
    std::string_view rest = in;
    while (!rest.empty()) {
        auto sep = rest.find('\x01');
        std::string_view name = rest.substr(0, sep);
        rest = sep == std::string_view::npos ? std::string_view{} : rest.substr(sep + 1);
        auto sep2 = rest.find('\x01');
        std::string_view value = rest.substr(0, sep2);
        rest = sep2 == std::string_view::npos ? std::string_view{} : rest.substr(sep2 + 1);
        if (!name.empty()) out.push_back({std::string(name), std::string(value)});
    }
    return out;
}

void check_form_round_trip(const qc::param_list& params) {
    const std::string body = qc::form_encode(params);
    auto back = qc::form_decode(body);
    FUZZ_CHECK(back && *back == params);
    bool nul = false;
    for (const auto& p : params) nul = nul || has_nul(p.name) || has_nul(p.value);
    auto q = ctl::parse_query(body);
    FUZZ_CHECK(bool(q) == !nul);
    if (!q) return;
    FUZZ_CHECK(q->items().size() == params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
        FUZZ_CHECK(q->items()[i].first == params[i].name);
        FUZZ_CHECK(q->items()[i].second == params[i].value);
    }
}

// Decoding arbitrary input: either an error or a list that survives a re-encoding.
void check_form_decode(std::string_view in) {
    auto f = qc::form_decode(in);
    auto q = ctl::parse_query(in);
    if (!f) {
        FUZZ_CHECK(!f.error().message.empty());
        FUZZ_CHECK(!q);
        return;
    }
    for (const auto& p : *f) FUZZ_CHECK(!p.name.empty());
    check_form_round_trip(*f);
    if (!q) {
        bool nul = false;
        for (const auto& p : *f) nul = nul || has_nul(p.name) || has_nul(p.value);
        FUZZ_CHECK(nul);
    } else {
        FUZZ_CHECK(q->items().size() == f->size());
        for (std::size_t i = 0; i < f->size(); ++i)
            FUZZ_CHECK(q->items()[i].first == (*f)[i].name &&
                       q->items()[i].second == (*f)[i].value);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in = taskpoller::fuzz::as_text(data, size);
    check_percent_round_trip(in);
    check_decoders_agree(in);
    check_form_round_trip(params_of(in));
    check_form_decode(in);
    return 0;
}
