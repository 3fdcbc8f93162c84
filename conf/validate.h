// Internal to conf/: rules that involve more than one key, run as each section's check
// (see Section::check in conf/section.h) once all its keys have been parsed. Each reports
// at the key the operator has to change.
#pragma once

#include <toml++/toml.h>

#include "conf/config.h"
#include "conf/context.h"

namespace ocspgate::conf {

// client_ca is needed to verify clients; the private key must match the certificate.
void check_tls(const toml::table& table, TlsSettings& tls, Context& context);
void check_second_identity(const toml::table& table, const TlsSettings& tls, Context& context);
void check_legacy_versions(const toml::table& table, const TlsSettings& tls, Context& context);
void check_stapling(const toml::table& table, const TlsSettings& tls, Context& context);

// A revocation profile needs client certificates to check, and (a warning) clients without
// one are not checked at all under verify_client = "optional".
void check_listener(const toml::table& table, Listener& listener, Context& context);
void warn_unchecked_clients(const toml::table& table, const Listener& listener, Context& context);
void check_sip_table_fits(const toml::table& table, const Listener& listener, Context& context);

// backend_ca (required), backend_server_name and backend_revocation come with backend_tls;
// [listener.ldap] only on protocol = "ldap-starttls".
void check_backend_tls(const toml::table& table, const Listener& listener, Context& context);
void check_ldap_table_fits(const toml::table& table, const Listener& listener, Context& context);

// "none" ends the methods list; OCSP needs somewhere to find a responder.
void check_profile(const toml::table& table, RevocationProfile& profile, Context& context);

// The client certificate for https responders comes with its key; prefer = "aia" needs AIA.
void check_ocsp(const toml::table& table, OcspSettings& ocsp, Context& context);
// Warnings: nonce written as the old boolean; max_response_age that nonce = "require" voids.
void check_nonce(const toml::table& table, const OcspSettings& ocsp, Context& context);

// Across the document: unique listener names and listen addresses, and every listener's
// revocation profile exists.
void check_config(const toml::table& root, Config& config, Context& context);

}  // namespace ocspgate::conf
