#include "perf/load/mint.h"

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <array>
#include <ctime>
#include <fstream>

namespace ocspgate::perf {
namespace {

tls::X509Ptr read_cert(BIO* in) { return tls::X509Ptr{PEM_read_bio_X509(in, nullptr, nullptr, nullptr)}; }

tls::X509Ptr load_cert(const std::string& file) {
    tls::BioPtr in{BIO_new_file(file.c_str(), "r")};
    return in ? read_cert(in.get()) : nullptr;
}

tls::EvpPkeyPtr load_key(const std::string& file) {
    tls::BioPtr in{BIO_new_file(file.c_str(), "r")};
    return in ? tls::EvpPkeyPtr{PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr)} : nullptr;
}

bool add_extension(X509* cert, X509V3_CTX& ctx, int nid, const char* value) {
    tls::X509ExtensionPtr ext{X509V3_EXT_conf_nid(nullptr, &ctx, nid, value)};
    return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

// A random positive 64-bit serial with its top bits fixed, so BN_bn2hex (what `openssl ocsp`
// looks serials up by) always gives 16 digits.
tls::BignumPtr random_serial() {
    std::array<unsigned char, 8> bytes{};
    RAND_bytes(bytes.data(), static_cast<int>(bytes.size()));
    bytes[0] = static_cast<unsigned char>((bytes[0] & 0x3f) | 0x40);
    return tls::BignumPtr{BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr)};
}

struct Ca {
    tls::X509Ptr cert;
    tls::EvpPkeyPtr key;
};

// Signs one leaf for `key` and appends its index row to `index`.
tls::X509Ptr mint_one(const Ca& ca, EVP_PKEY* key, int number, int days, std::string& index) {
    tls::X509Ptr cert{X509_new()};
    const tls::BignumPtr serial = random_serial();
    X509_set_version(cert.get(), 2);
    BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()));
    X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.cert.get()));
    X509_NAME* name = X509_get_subject_name(cert.get());
    const std::string cn = "cold-" + std::to_string(number);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("ocspgate-load"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    std::time_t now = std::time(nullptr);  // not const: X509_time_adj_ex takes time_t*
    X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, -3600, &now);
    X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, &now);
    X509_set_pubkey(cert.get(), key);
    X509V3_CTX v3{};
    X509V3_set_ctx(&v3, ca.cert.get(), cert.get(), nullptr, nullptr, 0);
    if (!add_extension(cert.get(), v3, NID_basic_constraints, "critical,CA:FALSE") ||
        !add_extension(cert.get(), v3, NID_key_usage, "critical,digitalSignature") ||
        !add_extension(cert.get(), v3, NID_ext_key_usage, "clientAuth") ||
        !add_extension(cert.get(), v3, NID_authority_key_identifier, "keyid:always") ||
        X509_sign(cert.get(), ca.key.get(), EVP_sha256()) <= 0)
        return nullptr;
    // `openssl ca` database row: status, expiry (UTCTime), revocation date, serial, file, DN.
    const std::time_t expiry = now + static_cast<std::time_t>(days) * 86400;
    std::tm tm{};
    gmtime_r(&expiry, &tm);
    std::array<char, 32> when{};
    std::strftime(when.data(), when.size(), "%y%m%d%H%M%SZ", &tm);
    const tls::OsslStringPtr hex{BN_bn2hex(serial.get())};
    index.append("V\t").append(when.data()).append("\t\t").append(hex.get()).append("\tunknown\t/O=ocspgate-load/CN=");
    index.append(cn).append("\n");
    return cert;
}

bool write_file(const std::string& path, const std::string& text, std::string& error) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) error = "cannot write " + path;
    return static_cast<bool>(out);
}

}  // namespace

bool mint_pool(const MintOptions& o, std::string& error) {
    const Ca ca{load_cert(o.ca_file), load_key(o.ca_key_file)};
    if (!ca.cert || !ca.key) {
        error = tls::drain_errors("loading " + o.ca_file + " / " + o.ca_key_file);
        return false;
    }
    const tls::EvpPkeyPtr key{EVP_EC_gen("P-256")};
    tls::BioPtr certs{BIO_new(BIO_s_mem())};
    tls::BioPtr key_pem{BIO_new(BIO_s_mem())};
    tls::BioPtr issuer_pem{BIO_new(BIO_s_mem())};
    if (!key || PEM_write_bio_PrivateKey(key_pem.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
        PEM_write_bio_X509(issuer_pem.get(), ca.cert.get()) != 1) {
        error = tls::drain_errors("making the pool's key");
        return false;
    }
    std::string index;
    for (int i = 1; i <= o.count; ++i) {
        const tls::X509Ptr cert = mint_one(ca, key.get(), i, o.days, index);
        if (!cert || PEM_write_bio_X509(certs.get(), cert.get()) != 1) {
            error = tls::drain_errors("signing certificate " + std::to_string(i));
            return false;
        }
    }
    auto text = [](BIO* b) {
        char* data = nullptr;
        const long n = BIO_get_mem_data(b, &data);
        return std::string(data, static_cast<std::size_t>(n));
    };
    return write_file(o.out_dir + "/minted-certs.pem", text(certs.get()), error) &&
           write_file(o.out_dir + "/minted.key", text(key_pem.get()), error) &&
           write_file(o.out_dir + "/minted-issuer.pem", text(issuer_pem.get()), error) &&
           write_file(o.out_dir + "/minted-index.txt", index, error);
}

std::vector<ClientIdentity> load_minted_pool(const ClientOptions& client, const std::string& dir, std::string& error) {
    std::vector<ClientIdentity> pool;
    const tls::EvpPkeyPtr key = load_key(dir + "/minted.key");
    const tls::X509Ptr issuer = load_cert(dir + "/minted-issuer.pem");
    tls::BioPtr certs{BIO_new_file((dir + "/minted-certs.pem").c_str(), "r")};
    tls::SslCtxPtr ctx = make_client_context(client, error);
    if (!key || !issuer || !certs || !ctx) {
        if (error.empty()) error = tls::drain_errors("loading the minted pool in " + dir);
        return {};
    }
    while (tls::X509Ptr cert = read_cert(certs.get())) {
        ClientIdentity id;
        SSL_CTX_up_ref(ctx.get());
        id.ctx.reset(ctx.get());
        id.cert = std::move(cert);
        EVP_PKEY_up_ref(key.get());
        id.key.reset(key.get());
        X509_up_ref(issuer.get());
        id.issuer.reset(issuer.get());
        id.chain_file = dir;
        pool.push_back(std::move(id));
    }
    tls::clear_errors();  // the PEM reader's "no start line" at the end of the file
    if (pool.empty()) error = "no certificate in " + dir + "/minted-certs.pem";
    return pool;
}

}  // namespace ocspgate::perf
