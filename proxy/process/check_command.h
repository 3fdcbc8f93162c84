// `ocspgate check`: what ocspgate would decide about one certificate, outside any handshake.
// It runs the revocation profile of a listener (or a profile named directly) from a
// configuration file with the same RevocationChecker and ChainCheck the proxy uses, on a libuv
// loop of its own, and prints the decision in the words of the logs (base/verdict.h): the
// operator's answer to "why was this phone refused?" (#19 point 5).
#pragma once

#include <string>

namespace ocspgate::proxy::process {

// `ocspgate check`'s own exit codes (#19 point 5; README "Exit codes", docs/ocspgate.8).
inline constexpr int kCheckAccept = 0;     // verdict accept
inline constexpr int kCheckRevoked = 1;    // verdict revoked
inline constexpr int kCheckNoAnswer = 2;   // verdict unknown or undetermined
inline constexpr int kCheckUsage = 3;      // bad command line, config or certificate file

struct CheckOptions {
    std::string config_path;
    std::string listener;  // [[listener]] name: its `revocation` profile and client_ca
    std::string profile;   // or a [revocation.NAME] directly
    std::string cert;      // the certificate to judge (PEM, the first one in the file)
    std::string chain;     // its issuer and further CAs (PEM), leaf side first
    std::string response;  // a saved OCSP response (DER) to judge offline instead of asking
    bool json = false;
};

// Prints the decision on stdout (problems on stderr) and returns one of the codes above.
int run_check_command(const CheckOptions& options);

}  // namespace ocspgate::proxy::process
