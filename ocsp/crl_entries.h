// The revokedCertificates of one CRL, kept as the CA signed them and indexed by serial.
//
//   revokedCertificates  SEQUENCE OF SEQUENCE {
//       userCertificate      CertificateSerialNumber,       -- INTEGER
//       revocationDate       Time,
//       crlEntryExtensions   Extensions OPTIONAL }
//
// OpenSSL decodes a CRL into one X509_REVOKED per entry: about 250 bytes and a dozen
// allocations each, so a CRL of 500 000 entries costs ~125 MB and seconds to decode, sort and
// free. Here the entries stay one block of DER (their size as signed, ~40 bytes each) plus a
// 4-byte offset per entry sorted by serial: indexing is one pass over the headers and a sort,
// a lookup a binary search, and only an entry that lists a certificate is ever decoded
// (d2i_X509_REVOKED). The index checks each entry's shape while it passes, as decoding the
// whole CRL would: a malformed entry makes the whole list malformed.
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace ocspgate::ocsp {

class CrlEntries {
public:
    CrlEntries() = default;  // no entries (a CRL without revokedCertificates)

    // `list`: the contents of a revokedCertificates element (the entries, one after another).
    // Errc::parse, naming the entry, when one is not a RevokedCertificate in DER: its serial a
    // minimal INTEGER, its date a UTCTime or GeneralizedTime of the RFC 5280 form, its
    // extensions well formed.
    static Result<CrlEntries> index(std::span<const std::uint8_t> list);

    // The DER of each entry that lists `serial`, in list order (a CA that lists a serial twice
    // gets every listing considered).
    std::vector<std::span<const std::uint8_t>> find(const ASN1_INTEGER* serial) const;

    std::size_t size() const { return order_.size(); }
    std::span<const std::uint8_t> der() const { return der_; }  // the list's contents as signed
    std::size_t memory() const { return der_.capacity() + order_.capacity() * sizeof(order_[0]); }

    // RFC 5280 §5.3: the first critical entry extension that cannot be processed ("" when
    // none). Understood: reasonCode, invalidityDate, holdInstructionCode.
    const std::string& extension_problem() const { return extension_problem_; }

private:
    std::span<const std::uint8_t> serial_at(std::uint32_t offset) const;
    void sort_by_serial();

    std::vector<std::uint8_t> der_;
    std::vector<std::uint32_t> order_;  // each entry's offset in der_, by serial then offset
    std::string extension_problem_;
};

}  // namespace ocspgate::ocsp
