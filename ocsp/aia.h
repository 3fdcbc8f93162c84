// Where a certificate says its revocation status can be found (RFC 5280 §4.2.2.1, §4.2.1.13).
#pragma once

#include <openssl/x509.h>

#include <string>
#include <vector>

namespace ocspgate::ocsp {

// The id-ad-ocsp accessLocation URIs of the Authority Information Access extension, in
// certificate order. Empty when there is none.
std::vector<std::string> ocsp_urls(X509* cert);

// The URI fullNames of the CRL Distribution Points extension, in certificate order.
// Distribution points naming a cRLIssuer (indirect CRLs) or limited to some reasons are
// skipped, as are nameRelativeToCRLIssuer and non-URI names (LDAP directory names etc.):
// crl.h cannot use what they point to.
std::vector<std::string> crl_urls(X509* cert);

// Where the delta CRLs are (the Freshest CRL extension, RFC 5280 §4.2.1.15 in a certificate,
// §5.2.6 in a complete CRL): URI fullNames, with the same skips as crl_urls().
std::vector<std::string> freshest_crl_urls(X509* cert);
std::vector<std::string> freshest_crl_urls(X509_CRL* crl);

}  // namespace ocspgate::ocsp
