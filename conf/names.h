// The spelling of each configuration enum in TOML, shared by the parser, the reference
// documentation and log messages, so the three can never disagree.
#pragma once

#include <array>
#include <span>
#include <string_view>

#include "conf/config.h"

namespace ocspgate::conf {

template <class E>
struct EnumName {
    std::string_view name;
    E value;
};

namespace detail {

inline constexpr std::array<EnumName<LogFormat>, 2> log_format_names{{
    {"text", LogFormat::text}, {"json", LogFormat::json}}};

inline constexpr std::array<EnumName<LogLevel>, 4> log_level_names{{
    {"debug", LogLevel::debug}, {"info", LogLevel::info},
    {"warn", LogLevel::warn}, {"error", LogLevel::error}}};

inline constexpr std::array<EnumName<Protocol>, 4> protocol_names{{
    {"tcp", Protocol::tcp}, {"sip", Protocol::sip},
    {"ldaps", Protocol::ldaps}, {"ldap-starttls", Protocol::ldap_starttls}}};

inline constexpr std::array<EnumName<VerifyClient>, 3> verify_client_names{{
    {"required", VerifyClient::required}, {"optional", VerifyClient::optional},
    {"none", VerifyClient::none}}};

inline constexpr std::array<EnumName<TlsVersion>, 4> tls_version_names{{
    {"1.0", TlsVersion::v1_0}, {"1.1", TlsVersion::v1_1},
    {"1.2", TlsVersion::v1_2}, {"1.3", TlsVersion::v1_3}}};

inline constexpr std::array<EnumName<SipKeepalive>, 2> sip_keepalive_names{{
    {"answer", SipKeepalive::answer}, {"pass", SipKeepalive::pass}}};

inline constexpr std::array<EnumName<RevocationMethod>, 3> revocation_method_names{{
    {"ocsp", RevocationMethod::ocsp}, {"crl", RevocationMethod::crl},
    {"none", RevocationMethod::none}}};

inline constexpr std::array<EnumName<CheckScope>, 2> check_scope_names{{
    {"leaf", CheckScope::leaf}, {"chain", CheckScope::chain}}};

inline constexpr std::array<EnumName<UnknownPolicy>, 3> unknown_policy_names{{
    {"revoked", UnknownPolicy::revoked}, {"good", UnknownPolicy::good},
    {"next", UnknownPolicy::next}}};

inline constexpr std::array<EnumName<ResponderPreference>, 2> responder_preference_names{{
    {"configured", ResponderPreference::configured}, {"aia", ResponderPreference::aia}}};

inline constexpr std::array<EnumName<OcspRequestMethod>, 2> ocsp_request_method_names{{
    {"post", OcspRequestMethod::post}, {"get", OcspRequestMethod::get}}};

inline constexpr std::array<EnumName<NonceMode>, 3> nonce_mode_names{{
    {"off", NonceMode::off}, {"prefer", NonceMode::prefer}, {"require", NonceMode::require}}};

}  // namespace detail

// Every accepted spelling of E, in the order the documentation lists them.
template <class E>
constexpr std::span<const EnumName<E>> enum_names();

template <>
constexpr std::span<const EnumName<LogFormat>> enum_names<LogFormat>() {
    return detail::log_format_names;
}

template <>
constexpr std::span<const EnumName<LogLevel>> enum_names<LogLevel>() {
    return detail::log_level_names;
}

template <>
constexpr std::span<const EnumName<Protocol>> enum_names<Protocol>() {
    return detail::protocol_names;
}

template <>
constexpr std::span<const EnumName<VerifyClient>> enum_names<VerifyClient>() {
    return detail::verify_client_names;
}

template <>
constexpr std::span<const EnumName<TlsVersion>> enum_names<TlsVersion>() {
    return detail::tls_version_names;
}

template <>
constexpr std::span<const EnumName<SipKeepalive>> enum_names<SipKeepalive>() {
    return detail::sip_keepalive_names;
}

template <>
constexpr std::span<const EnumName<RevocationMethod>> enum_names<RevocationMethod>() {
    return detail::revocation_method_names;
}

template <>
constexpr std::span<const EnumName<CheckScope>> enum_names<CheckScope>() {
    return detail::check_scope_names;
}

template <>
constexpr std::span<const EnumName<UnknownPolicy>> enum_names<UnknownPolicy>() {
    return detail::unknown_policy_names;
}

template <>
constexpr std::span<const EnumName<ResponderPreference>> enum_names<ResponderPreference>() {
    return detail::responder_preference_names;
}

template <>
constexpr std::span<const EnumName<OcspRequestMethod>> enum_names<OcspRequestMethod>() {
    return detail::ocsp_request_method_names;
}

template <>
constexpr std::span<const EnumName<NonceMode>> enum_names<NonceMode>() {
    return detail::nonce_mode_names;
}

// The TOML spelling of `value`, e.g. to_string(Protocol::ldap_starttls) == "ldap-starttls".
template <class E>
constexpr std::string_view to_string(E value) {
    for (const auto& entry : enum_names<E>()) {
        if (entry.value == value) return entry.name;
    }
    return "?";
}

}  // namespace ocspgate::conf
