// An OCSP responder that is not OpenSSL (#19 point 4): Bouncy Castle's OCSP builder (Debian's
// libbcpkix-java), with its own ASN.1 and its own ECDSA in Java, behind the JDK's HTTP server.
// Answers POST and GET (RFC 6960 A.1) on 127.0.0.1 from an `openssl ca` index file, like
// `openssl ocsp -index`: V = good, R = revoked (time and reason from the index), absent = unknown.
//
//   java -cp bcprov.jar:bcpkix.jar:bcutil.jar BcOcspResponder.java PORT CA.pem SIGNER.pem SIGNER.key INDEX NONCE
//
// NONCE: "echo" copies the request's nonce into the response (as RFC 8954 asks), "ignore"
// leaves it out (as responders that pre-sign do), "other" answers a request that has one with
// another nonce (a replayed or mixed-up response). nextUpdate is five minutes after thisUpdate;
// the responder is named by key hash and sends its certificate. One line per request on stdout
// ("request GET" / "request POST"), and "ready PORT" once it listens.
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.FileReader;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.text.SimpleDateFormat;
import java.util.Base64;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TimeZone;

import org.bouncycastle.asn1.ASN1GeneralizedTime;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.ocsp.RevokedInfo;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPRespBuilder;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.CertificateStatus;
import org.bouncycastle.cert.ocsp.OCSPReq;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.OCSPRespBuilder;
import org.bouncycastle.cert.ocsp.Req;
import org.bouncycastle.cert.ocsp.RespID;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.cert.ocsp.UnknownStatus;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.DigestCalculatorProvider;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;

public class BcOcspResponder {
    record Revocation(Date time, int reason) {}

    static final Map<String, Integer> REASONS = Map.of(
        "unspecified", CRLReason.unspecified, "keyCompromise", CRLReason.keyCompromise,
        "CACompromise", CRLReason.cACompromise, "affiliationChanged", CRLReason.affiliationChanged,
        "superseded", CRLReason.superseded, "cessationOfOperation", CRLReason.cessationOfOperation,
        "certificateHold", CRLReason.certificateHold);

    final X509CertificateHolder ca;
    final X509CertificateHolder signer;
    final PrivateKey key;
    final Path index;
    final String nonceMode;
    final DigestCalculatorProvider digests;

    BcOcspResponder(String[] args) throws Exception {
        ca = (X509CertificateHolder) readPem(args[1]);
        signer = (X509CertificateHolder) readPem(args[2]);
        key = new JcaPEMKeyConverter().getPrivateKey((PrivateKeyInfo) readPem(args[3]));
        index = Path.of(args[4]);
        nonceMode = args[5];
        digests = new JcaDigestCalculatorProviderBuilder().build();
    }

    static Object readPem(String path) throws IOException {
        try (PEMParser parser = new PEMParser(new FileReader(path))) {
            return parser.readObject();
        }
    }

    // The index is read for every request, so a test may revoke a certificate while it runs.
    Map<BigInteger, Object> readIndex() throws Exception {
        SimpleDateFormat utc = new SimpleDateFormat("yyMMddHHmmss'Z'");
        utc.setTimeZone(TimeZone.getTimeZone("UTC"));
        Map<BigInteger, Object> rows = new HashMap<>();
        for (String line : Files.readAllLines(index)) {
            String[] cols = line.split("\t");
            if (cols.length < 4) continue;
            BigInteger serial = new BigInteger(cols[3], 16);
            if (cols[0].equals("R")) {
                String[] when = cols[2].split(",");
                int reason = when.length > 1 ? REASONS.getOrDefault(when[1], CRLReason.unspecified) : -1;
                rows.put(serial, new Revocation(utc.parse(when[0]), reason));
            } else if (cols[0].equals("V")) {
                rows.put(serial, Boolean.TRUE);  // not CertificateStatus.GOOD: that is null
            }
        }
        return rows;
    }

    byte[] answer(byte[] requestDer) throws Exception {
        OCSPReq request = new OCSPReq(requestDer);
        Map<BigInteger, Object> rows = readIndex();
        BasicOCSPRespBuilder builder =
            new BasicOCSPRespBuilder(new RespID(signer.getSubjectPublicKeyInfo(), digests.get(CertificateID.HASH_SHA1)));
        Date now = new Date();
        Date thisUpdate = new Date(now.getTime() - 60_000);
        Date nextUpdate = new Date(now.getTime() + 300_000);
        for (Req one : request.getRequestList()) {
            CertificateID id = one.getCertID();
            CertificateStatus status = new UnknownStatus();
            if (id.matchesIssuer(ca, digests)) {
                Object row = rows.get(id.getSerialNumber());
                if (row instanceof Revocation r) {
                    status = r.reason() < 0 ? new RevokedStatus(new RevokedInfo(new ASN1GeneralizedTime(r.time()), null)) : new RevokedStatus(r.time(), r.reason());
                } else if (row != null) {
                    status = CertificateStatus.GOOD;
                }
            }
            builder.addResponse(id, status, thisUpdate, nextUpdate, null);
        }
        Extension nonce = request.getExtension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce);
        if (nonce != null && nonceMode.equals("echo")) builder.setResponseExtensions(new Extensions(nonce));
        if (nonce != null && nonceMode.equals("other")) {
            byte[] other = new byte[16];
            java.util.Arrays.fill(other, (byte) 0x5a);
            builder.setResponseExtensions(new Extensions(new Extension(
                OCSPObjectIdentifiers.id_pkix_ocsp_nonce, false, new DEROctetString(other).getEncoded())));
        }
        ContentSigner contentSigner = new JcaContentSignerBuilder("SHA256withECDSA").setProvider("BC").build(key);
        return new OCSPRespBuilder()
            .build(OCSPRespBuilder.SUCCESSFUL, builder.build(contentSigner, new X509CertificateHolder[] {signer}, now))
            .getEncoded();
    }

    void handle(HttpExchange exchange) throws IOException {
        byte[] reply;
        int status = 200;
        try {
            String method = exchange.getRequestMethod();
            System.out.println("request " + method);
            byte[] der;
            if (method.equals("POST")) {
                der = exchange.getRequestBody().readAllBytes();
            } else {
                String raw = exchange.getRequestURI().getRawPath().substring(1);
                der = Base64.getDecoder().decode(URLDecoder.decode(raw, StandardCharsets.US_ASCII));
            }
            reply = answer(der);
        } catch (Exception e) {
            System.out.println("error " + e);
            reply = new byte[] {0x30, 0x03, 0x0a, 0x01, 0x01};  // responseStatus malformedRequest
        }
        exchange.getResponseHeaders().set("Content-Type", "application/ocsp-response");
        exchange.sendResponseHeaders(status, reply.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(reply);
        }
    }

    public static void main(String[] args) throws Exception {
        java.security.Security.addProvider(new BouncyCastleProvider());
        BcOcspResponder responder = new BcOcspResponder(args);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", Integer.parseInt(args[0])), 16);
        server.createContext("/", responder::handle);
        server.start();
        System.out.println("ready " + server.getAddress().getPort());
    }
}
