// A Java JSSE client for the integration tests (run as `java RefusalClient.java ...`, JDK 11+
// single-file source launch): connects `attempts` times with a client certificate and prints,
// per attempt, one line saying what the client saw:
//   "alert <name>"  a fatal alert was read (JSSE: "Received fatal alert: <name>")
//   "reset <msg>"   the connection was reset or the write hit a closed socket (the reason lost)
//   "open"          the handshake completed and the first read got data or end of stream
//   "echo <text>"   with the optional 8th argument `echo`: the handshake completed and the
//                   "ping" written came back as <text> (the interop suite's proof of forwarding)
//   "other <msg>"   anything else
// Arguments: host port client.p12 p12-password trust.pem protocol (TLSv1.2|TLSv1.3) attempts [echo].
// The trust anchors are read from PEM here, since a PKCS#12 truststore written by OpenSSL 3.0
// lacks the attribute that makes JSSE trust its certificates.
import java.io.FileInputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

public class RefusalClient {
    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        char[] password = args[3].toCharArray();
        String protocol = args[5];
        int attempts = Integer.parseInt(args[6]);
        boolean echo = args.length > 7 && args[7].equals("echo");

        KeyStore keys = KeyStore.getInstance("PKCS12");
        try (InputStream in = new FileInputStream(args[2])) { keys.load(in, password); }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, password);

        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (InputStream in = new FileInputStream(args[4])) {
            int n = 0;
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in))
                trust.setCertificateEntry("ca" + n++, c);
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);

        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        for (int i = 0; i < attempts; i++) System.out.println(attempt(context, host, port, protocol, echo));
    }

    static String attempt(SSLContext context, String host, int port, String protocol, boolean echo) {
        try (Socket raw = new Socket()) {
            raw.connect(new InetSocketAddress(host, port), 5000);
            raw.setSoTimeout(10000);
            try (SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket(raw, host, port, true)) {
                s.setEnabledProtocols(new String[] {protocol});
                s.startHandshake();
                s.getOutputStream().write("ping".getBytes());
                s.getOutputStream().flush();
                if (!echo) {
                    s.getInputStream().read();  // TLS 1.3: the refusal arrives after the client's Finished
                    return "open";
                }
                byte[] back = s.getInputStream().readNBytes(4);
                return "echo " + new String(back);
            }
        } catch (Exception e) {
            return classify(e);
        }
    }

    static String classify(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = String.valueOf(t.getMessage());
            if (m.startsWith("Received fatal alert: ")) return "alert " + m.substring("Received fatal alert: ".length());
        }
        String m = String.valueOf(e.getMessage());
        if (m.contains("reset") || m.contains("Broken pipe") || m.contains("closed")) return "reset " + e;
        return "other " + e;
    }
}
