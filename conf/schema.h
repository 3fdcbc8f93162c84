// Internal to conf/: the configuration schema, one Section per TOML table.
//
// This is the single description of the configuration: parsing, unknown-key detection,
// defaults and the reference in conf/README.md all come from it. To add a key, add a row
// to its section; to add a table (say [listener.sip]), add a member to config.h, a section
// here, and a table_key() row in its parent.
#pragma once

#include <vector>

#include "conf/config.h"
#include "conf/section.h"

namespace ocspgate::conf {

const Section<Config>& root_section();
const Section<Server>& server_section();
const Section<Admin>& admin_section();
const Section<Expiry>& expiry_section();
const Section<ExpiryEmail>& expiry_email_section();
const Section<Listener>& listener_section();
const Section<TlsSettings>& tls_section();
const Section<LdapSettings>& ldap_section();
const Section<SipSettings>& sip_section();
const Section<RevocationProfile>& profile_section();
const Section<OcspSettings>& ocsp_section();
const Section<OcspIssuer>& issuer_section();
const Section<CrlSettings>& crl_section();
const Section<Cache>& cache_section();
const Section<ocsp::SharedCacheSettings>& shared_cache_section();

// Every section, in the order the reference documents them.
std::vector<SectionDoc> reference_sections();

}  // namespace ocspgate::conf
